// CI check of onnx::import_model against PyTorch (.ci/onnx-import): for each model NAME exported by
// tools/torch_to_onnx_models.py into DIR, imports NAME.onnx, runs it on NAME.in.bin and compares
// with PyTorch's NAME.out.bin; then trains each imported model a few SGD steps towards a fixed target
// and checks that the loss went down. Exits 1 on any failure.
//   axon-onnx-import-check DIR [--tolerance 1e-5] [--train-steps 5] NAME...
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <axon/axon.hpp>
#include <axon/onnx.hpp>

using namespace axon;

namespace {

Shape read_shape(std::istream& in) {
  std::string line;
  std::getline(in, line);
  std::istringstream s(line);
  Shape shape;
  for (int64_t d; s >> d;) shape.push_back(d);
  return shape;
}

Tensor read_f32(const std::string& path, const Shape& shape) {
  std::ifstream f(path, std::ios::binary);
  AXON_CHECK(f.good(), "onnx-import-check", "cannot open {}", path);
  std::vector<float> v(static_cast<size_t>(numel(shape)));
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  AXON_CHECK(f.gcount() == static_cast<std::streamsize>(v.size() * sizeof(float)), "onnx-import-check",
             "{} is shorter than {}", path, to_string(shape));
  return from_vector<float>(v, shape);
}

// A few plain SGD steps on every trainable parameter, pulling the output towards a fixed target;
// returns the first and last loss.
std::pair<double, double> train(const onnx::Imported& m, const Tensor& x, int steps, double lr) {
  Params trainable = trainable_params(m.model, m.params);
  const Params state = state_params(m.model, m.params);
  const Tensor target = full(predict(m.model, m.params, x).shape(), 0.5);
  double first = 0, last = 0;
  for (int s = 0; s <= steps; ++s) {
    auto [loss, grads] = value_and_grad(
        [&](const Params& p) {
          const Tensor y = apply(m.model, merge_params(p, state), x, {.mode = Mode::train}).output;
          return mean(square(sub(y, target)));
        },
        trainable);
    const double l = loss.item<float>();
    if (s == 0) first = l;
    last = l;
    if (s == steps) break;
    for (auto& [layer, ps] : trainable)
      for (auto& [name, t] : ps) t = sub(t, mul(grads.at(layer).at(name), lr));
  }
  return {first, last};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fprintf(stderr, "usage: axon-onnx-import-check DIR [--tolerance T] [--train-steps N] NAME...\n");
    return 2;
  }
  const std::string dir = args[0];
  double tolerance = 1e-5;
  int steps = 5;
  std::vector<std::string> names;
  for (size_t k = 1; k < args.size(); ++k) {
    if (args[k] == "--tolerance" && k + 1 < args.size())
      tolerance = std::stod(args[++k]);
    else if (args[k] == "--train-steps" && k + 1 < args.size())
      steps = std::stoi(args[++k]);
    else
      names.push_back(args[k]);
  }
  int failures = 0;
  for (const std::string& name : names) {
    try {
      const std::string base = dir + "/" + name;
      std::ifstream shapes(base + ".shape");
      const Shape in_shape = read_shape(shapes), out_shape = read_shape(shapes);
      const auto t0 = std::chrono::steady_clock::now();
      // snippet-begin: import
      const onnx::Imported m = onnx::import_model(base + ".onnx");
      // snippet-end: import
      const double import_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const Tensor x = read_f32(base + ".in.bin", in_shape);
      const Tensor want = read_f32(base + ".out.bin", out_shape);
      const Tensor got = predict(m.model, m.params, x);
      AXON_CHECK(got.shape() == want.shape(), "onnx-import-check", "{}: output {} but PyTorch's is {}", name,
                 describe(got), describe(want));
      const double diff = max(abs(sub(got, want))).item<float>();
      const bool ok = diff <= tolerance;
      std::printf("%-10s import %.2f s, %zu layers: max |axon - torch| = %.3g (tolerance %.0e) %s\n", name.c_str(),
                  import_s, m.model.layers().size(), diff, tolerance, ok ? "ok" : "FAILED");
      if (!ok) ++failures;
      if (steps > 0) {
        const auto [first, last] = train(m, x, steps, 1e-2);
        const bool down = last < first;
        std::printf("%-10s %d SGD steps on the imported params: loss %.6g -> %.6g %s\n", name.c_str(), steps, first,
                    last, down ? "ok" : "FAILED");
        if (!down) ++failures;
      }
    } catch (const Error& e) {
      std::printf("%-10s FAILED: %s\n", name.c_str(), e.what());
      ++failures;
    }
    std::fflush(stdout);
  }
  return failures == 0 ? 0 : 1;
}
