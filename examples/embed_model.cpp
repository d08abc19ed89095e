// Writes the model file that the C and Fortran embedding examples load (examples/c/embed.c,
// examples/fortran/embed.f90), and what the C++ API computes on it, for them to check against:
//   example_embed_model model.safetensors expected.txt
// expected.txt: "batch features outputs", then the inputs x, the predictions y and the gradient of
// sum(y) with respect to x, each in C order, one value per line.
#include <cmath>
#include <cstdio>

#include <axon/axon.hpp>
#include <axon/model/model_file.hpp>

using namespace axon;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL_FILE EXPECTED_TXT\n", argv[0]);
    return 2;
  }
  const int64_t batch = 4, features = 3;
  Model model = input("x", {-1, features}) | dense(8, {.activation = "tanh"}) | dense(2);
  Params params = init(model, {.dtype = DType::f64, .seed = 7});
  save_model(argv[1], model, params);

  std::vector<double> xs;
  for (int64_t i = 0; i < batch * features; ++i) xs.push_back(std::sin(0.7 * double(i + 1)));
  Tensor x = from_vector(xs, {batch, features});
  Tensor y = predict(model, params, x);
  Tensor g = grad([&](const Tensor& in) { return sum(apply(model, params, in).output); }, x);

  std::FILE* f = std::fopen(argv[2], "w");
  if (!f) {
    std::perror(argv[2]);
    return 1;
  }
  std::fprintf(f, "%lld %lld %lld\n", (long long)batch, (long long)features, (long long)y.shape()[1]);
  for (const Tensor& t : {x, y, g})
    for (double v : t.contiguous().to_vector<double>()) std::fprintf(f, "%.17g\n", v);
  std::fclose(f);
  std::printf("wrote %s and %s\n", argv[1], argv[2]);
  return 0;
}
