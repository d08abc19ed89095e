// The C ABI (axon_c.h) against the C++ API on the same model file, DLPack's deleter contract, the
// external-stream guard, and different models from different threads.
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

#include <axon/axon.hpp>
#include <axon/cuda_context.hpp>
#include <axon/dlpack.hpp>
#include <axon/model/model_file.hpp>
#include <axon_c.h>
#ifdef AXON_TEST_DLPACK
#include <dlpack/dlpack.h>
#endif

#ifdef AXON_HAS_CUDA
#include <cuda_runtime_api.h>
#endif

#include "harness.hpp"

using namespace axon;

namespace {

#define C_OK(call)                                      \
  do {                                                  \
    axon_status c_status_ = (call);                     \
    INFO(#call << ": " << axon_last_error());           \
    REQUIRE(c_status_ == AXON_OK);                      \
  } while (0)

// An owning C handle, destroyed at scope exit.
struct CTensor {
  axon_tensor h = nullptr;
  CTensor() = default;
  CTensor(CTensor&& o) noexcept : h(std::exchange(o.h, nullptr)) {}
  CTensor& operator=(CTensor&&) = delete;
  ~CTensor() { reset(); }
  void reset() {
    axon_tensor_destroy(h);
    h = nullptr;
  }
};
struct CModel {
  axon_model h = nullptr;
  CModel() = default;
  CModel(const CModel&) = delete;
  CModel& operator=(const CModel&) = delete;
  ~CModel() { axon_model_destroy(h); }
};

// Without Catch's macros (they are not thread-safe): a null handle where the call failed.
CTensor wrap_quiet(std::vector<double>& v, Shape shape) {
  CTensor t;
  if (axon_tensor_from_data(v.data(), static_cast<int>(shape.size()), shape.data(), nullptr, AXON_F64, AXON_CPU, 0,
                            nullptr, nullptr, &t.h) != AXON_OK)
    t.h = nullptr;
  return t;
}

CTensor wrap(std::vector<double>& v, Shape shape) {
  CTensor t = wrap_quiet(v, std::move(shape));
  INFO("axon_tensor_from_data: " << axon_last_error());
  REQUIRE(t.h != nullptr);
  return t;
}

Model mlp() { return input("x", {-1, 3}) | dense(8, {.activation = "tanh"}) | dense(2); }

// A model file of mlp() with f64 parameters drawn from `seed`.
std::string mlp_file(uint64_t seed, Params* params = nullptr) {
  std::string path = test::temp_path("mlp_" + std::to_string(seed) + ".safetensors");
  Params p = init(mlp(), {.dtype = DType::f64, .seed = seed});
  save_model(path, mlp(), p);
  if (params) *params = p;
  return path;
}

std::vector<double> inputs(int64_t n, double phase) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(std::sin(0.37 * double(i) + phase));
  return v;
}

}  // namespace

TEST_CASE("C ABI: version, ABI version and errors as status plus a per-thread message", "[c_api]") {
  CHECK(std::string(axon_version()) == "0.1.0");
  CHECK(axon_abi_version() == AXON_C_ABI_VERSION);
  axon_tensor t = nullptr;
  int64_t shape[2] = {2, 3};
  CHECK(axon_tensor_from_data(nullptr, 2, shape, nullptr, AXON_F32, AXON_CPU, 0, nullptr, nullptr, &t) == AXON_ERROR);
  CHECK(std::string(axon_last_error()).find("from_blob: null data pointer for shape [2, 3]") != std::string::npos);
  float buf[6];
  CHECK(axon_tensor_from_data(buf, 2, shape, nullptr, 42, AXON_CPU, 0, nullptr, nullptr, &t) ==
        AXON_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(axon_last_error()).find("axon_tensor_from_data: dtype 42") != std::string::npos);
  CHECK(axon_tensor_from_data(buf, 2, shape, nullptr, AXON_F32, 7, 0, nullptr, nullptr, &t) ==
        AXON_ERROR_INVALID_ARGUMENT);
  CHECK(axon_tensor_ndim(nullptr, nullptr) == AXON_ERROR_INVALID_ARGUMENT);
  CHECK(t == nullptr);  // outputs are written only on success
  axon_model m = nullptr;
  CHECK(axon_model_load("/nonexistent/model.safetensors", AXON_CPU, 0, &m) == AXON_ERROR);
  CHECK(std::string(axon_last_error()).find("/nonexistent/model.safetensors") != std::string::npos);
  // The message is per thread: another thread's failure does not replace this one's.
  std::string mine = axon_last_error();
  std::thread([] { axon_tensor_ndim(nullptr, nullptr); }).join();
  CHECK(std::string(axon_last_error()) == mine);
  CHECK(axon_tensor_destroy(nullptr) == AXON_OK);
  CHECK(axon_model_destroy(nullptr) == AXON_OK);
#ifndef AXON_HAS_CUDA
  int dummy = 0;
  CHECK(axon_set_stream(0, &dummy) == AXON_ERROR);
  CHECK(std::string(axon_last_error()).find("built without CUDA") != std::string::npos);
#endif
  CHECK(axon_set_stream(0, nullptr) == AXON_OK);
}

TEST_CASE("C ABI: tensors over caller memory, strides, deleter, copies", "[c_api]") {
  std::vector<double> v = {1, 2, 3, 4, 5, 6};
  static std::atomic<int> deleted{0};
  deleted = 0;
  int64_t shape[2] = {3, 2}, strides[2] = {1, 3};  // the transpose of a row-major 2x3 array
  axon_tensor t = nullptr;
  C_OK(axon_tensor_from_data(v.data(), 2, shape, strides, AXON_F64, AXON_CPU, 0,
                             [](void* p, void* ctx) { deleted += (p == ctx) ? 1 : 100; }, v.data(), &t));
  int ndim = 0, dtype = -1, dt = -1, di = -1;
  int64_t s[2], st[2], n = 0;
  void* data = nullptr;
  C_OK(axon_tensor_ndim(t, &ndim));
  C_OK(axon_tensor_shape(t, s));
  C_OK(axon_tensor_strides(t, st));
  C_OK(axon_tensor_numel(t, &n));
  C_OK(axon_tensor_dtype(t, &dtype));
  C_OK(axon_tensor_device(t, &dt, &di));
  C_OK(axon_tensor_data(t, &data));
  CHECK(ndim == 2);
  CHECK((s[0] == 3 && s[1] == 2 && st[0] == 1 && st[1] == 3 && n == 6));
  CHECK((dtype == AXON_F64 && dt == AXON_CPU && di == 0));
  CHECK(data == v.data());  // no copy

  double out[6];
  C_OK(axon_tensor_copy_to_buffer(t, out, sizeof out));
  CHECK(std::vector<double>(out, out + 6) == std::vector<double>{1, 4, 2, 5, 3, 6});
  CHECK(axon_tensor_copy_to_buffer(t, out, 5 * sizeof(double)) == AXON_ERROR);
  CHECK(std::string(axon_last_error()).find("holds 40 bytes") != std::string::npos);

  // A copy into caller memory converts the dtype and lands in the caller's array.
  std::vector<float> f(6, 0.f);
  axon_tensor tf = nullptr;
  C_OK(axon_tensor_from_data(f.data(), 2, shape, nullptr, AXON_F32, AXON_CPU, 0, nullptr, nullptr, &tf));
  C_OK(axon_tensor_copy(t, tf));
  CHECK(f == std::vector<float>{1, 4, 2, 5, 3, 6});
  axon_tensor wrong = nullptr;
  C_OK(axon_tensor_from_data(f.data(), 1, shape, nullptr, AXON_F32, AXON_CPU, 0, nullptr, nullptr, &wrong));
  CHECK(axon_tensor_copy(t, wrong) == AXON_ERROR);
  CHECK(std::string(axon_last_error()).find("shape [3, 2] but the destination has shape [3]") != std::string::npos);

  // The deleter runs once, when the last tensor over the memory goes (a DLPack export keeps it alive too).
#ifdef AXON_TEST_DLPACK
  void* exported = nullptr;
  C_OK(axon_tensor_to_dlpack(t, &exported));
  C_OK(axon_tensor_destroy(t));
  CHECK(deleted == 0);
  auto* m = static_cast<DLManagedTensor*>(exported);
  CHECK(m->dl_tensor.data == v.data());
  m->deleter(m);
  CHECK(deleted == 1);
#else
  C_OK(axon_tensor_destroy(t));
  CHECK(deleted == 1);
#endif
  axon_tensor_destroy(tf);
  axon_tensor_destroy(wrong);
}

TEST_CASE("C ABI: predict and input gradients equal the C++ API's on the same model file", "[c_api]") {
  Params params;
  std::string path = mlp_file(3, &params);
  Model model = mlp();
  CModel m;
  C_OK(axon_model_load(path.c_str(), AXON_CPU, 0, &m.h));
  int n_in = 0;
  C_OK(axon_model_num_inputs(m.h, &n_in));
  CHECK(n_in == 1);

  std::vector<double> x = inputs(5 * 3, 0.1), y(5 * 2), g(5 * 3), ct = inputs(5 * 2, 2.0), y2(5 * 2);
  CTensor tx = wrap(x, {5, 3}), ty = wrap(y, {5, 2}), tg = wrap(g, {5, 3}), tct = wrap(ct, {5, 2}),
          ty2 = wrap(y2, {5, 2});
  Tensor X = from_vector(x, {5, 3});

  C_OK(axon_model_predict_into(m.h, 1, &tx.h, ty.h));
  CHECK(y == predict(model, params, X).to_vector<double>());  // bit for bit
  CTensor fresh;
  C_OK(axon_model_predict(m.h, 1, &tx.h, &fresh.h));
  int64_t shape[2];
  C_OK(axon_tensor_shape(fresh.h, shape));
  CHECK((shape[0] == 5 && shape[1] == 2));

  // Gradient of sum(outputs), and the VJP with a cotangent (a weighted sum), against autograd.
  C_OK(axon_model_input_gradients(m.h, 1, &tx.h, nullptr, ty2.h, &tg.h));
  auto f = [&](const Tensor& in) { return apply(model, params, in).output; };
  CHECK_THAT(g, Catch::Matchers::Approx(grad([&](const Tensor& in) { return sum(f(in)); }, X).to_vector<double>())
                    .epsilon(1e-14));
  CHECK(y2 == y);
  C_OK(axon_model_input_gradients(m.h, 1, &tx.h, tct.h, nullptr, &tg.h));
  Tensor vj = vjp(f, X, from_vector(ct, {5, 2})).second;
  CHECK_THAT(g, Catch::Matchers::Approx(vj.to_vector<double>()).epsilon(1e-14));

  // Wrong inputs are errors naming the call and the shapes.
  CHECK(axon_model_input_gradients(m.h, 1, &tx.h, tg.h, nullptr, &tg.h) == AXON_ERROR);
  CHECK(std::string(axon_last_error()).find("cotangent has shape [5, 3] but the output has shape [5, 2]") !=
        std::string::npos);
  axon_tensor two[2] = {tx.h, tx.h};
  CHECK(axon_model_predict_into(m.h, 2, two, ty.h) == AXON_ERROR);
  CHECK(std::string(axon_last_error()).find("the model has 1 input(s) but 2 were given") != std::string::npos);
  two[1] = nullptr;
  CHECK(axon_model_predict_into(m.h, 2, two, ty.h) == AXON_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(axon_last_error()).find("inputs[1] is NULL") != std::string::npos);
  std::filesystem::remove(path);
}

TEST_CASE("C ABI: a model with two inputs takes them in input order", "[c_api]") {
  Model a = input("a", {-1, 2}), b = input("b", {-1, 3});
  Model model = concatenate(a, b) | dense(2);
  Params params = init(model, {.dtype = DType::f64, .seed = 5});
  std::string path = test::temp_path("two_inputs.safetensors");
  save_model(path, model, params);
  CModel m;
  C_OK(axon_model_load(path.c_str(), AXON_CPU, 0, &m.h));
  std::vector<double> va = inputs(4 * 2, 0.3), vb = inputs(4 * 3, 1.3), y(4 * 2), ga(4 * 2), gb(4 * 3);
  CTensor ta = wrap(va, {4, 2}), tb = wrap(vb, {4, 3}), ty = wrap(y, {4, 2}), tga = wrap(ga, {4, 2}),
          tgb = wrap(gb, {4, 3});
  axon_tensor in[2] = {ta.h, tb.h}, grads[2] = {tga.h, tgb.h};
  C_OK(axon_model_predict_into(m.h, 2, in, ty.h));
  std::map<std::string, Tensor> named{{"a", from_vector(va, {4, 2})}, {"b", from_vector(vb, {4, 3})}};
  CHECK(y == predict(model, params, named).to_vector<double>());
  C_OK(axon_model_input_gradients(m.h, 2, in, nullptr, nullptr, grads));
  // d sum(y) / d a = the row sums of the kernel's rows that a feeds, the same for every sample.
  std::vector<double> k = params.at("dense_0").at("kernel").to_vector<double>();
  for (int s = 0; s < 4; ++s)
    for (int i = 0; i < 2; ++i) CHECK(ga[s * 2 + i] == Catch::Approx(k[i * 2] + k[i * 2 + 1]).epsilon(1e-14));
  for (int i = 0; i < 3; ++i) CHECK(gb[i] == Catch::Approx(k[(2 + i) * 2] + k[(2 + i) * 2 + 1]).epsilon(1e-14));
  std::filesystem::remove(path);
}

namespace {
// n steps of `optimizer` with mean squared error towards `target` through the C ABI; returns the
// losses and leaves the trained model in m.
std::vector<double> c_train(axon_model m, std::vector<double>& x, std::vector<double>& target, int n,
                            const char* optimizer, double lr) {
  CTensor tx = wrap(x, {int64_t(x.size() / 3), 3}), tt = wrap(target, {int64_t(target.size() / 2), 2});
  axon_optimizer opt = nullptr;
  REQUIRE(axon_optimizer_create(m, optimizer, lr, "mean_squared_error", 0, &opt) == AXON_OK);
  std::vector<double> losses;
  for (int i = 0; i < n; ++i) {
    double loss = -1;
    if (axon_train_step(opt, tx.h, tt.h, &loss) != AXON_OK) FAIL(axon_last_error());
    losses.push_back(loss);
  }
  axon_optimizer_destroy(opt);
  return losses;
}
}  // namespace

TEST_CASE("C ABI: train steps equal the C++ train_step's; save round-trips the trained model", "[c_api]") {
  Params params;
  std::string path = mlp_file(11, &params);
  CModel m;
  C_OK(axon_model_load(path.c_str(), AXON_CPU, 0, &m.h));
  std::vector<double> x = inputs(6 * 3, 0.5), target = inputs(6 * 2, 1.5);
  std::vector<double> losses = c_train(m.h, x, target, 3, "adam", 1e-2);

  training::Step step = train_step(mlp(), "mean_squared_error", optim::adam(1e-2));
  training::Batch batch{from_vector(x, {6, 3}), from_vector(target, {6, 2})};
  training::StepState s = step.init(batch, training::initial_state(params));
  std::vector<double> want;
  for (int i = 0; i < 3; ++i) {
    Tensor before = s.at("loss"), count = s.at("i");
    s = step.step(batch, s);
    // The C ABI reports each batch's loss; the step state keeps their running mean.
    double mean = s.at("loss").to(DType::f64).item<double>();
    want.push_back(mean * (i + 1) - before.to(DType::f64).item<double>() * i);
  }
  CHECK_THAT(losses, Catch::Matchers::Approx(want).epsilon(1e-12));
  CHECK(losses[2] < losses[0]);
  Params trained = s.params("model_state");
  CTensor kernel;
  C_OK(axon_model_parameter(m.h, "dense_1", "kernel", &kernel.h));
  std::vector<double> k(8 * 2);
  C_OK(axon_tensor_copy_to_buffer(kernel.h, k.data(), k.size() * sizeof(double)));
  CHECK(k == trained.at("dense_1").at("kernel").to_vector<double>());
  CHECK(axon_model_parameter(m.h, "dense_1", "bogus", &kernel.h) == AXON_ERROR);
  CHECK(std::string(axon_last_error()).find("layer 'dense_1' has no parameter 'bogus'") != std::string::npos);

  // Saved and loaded again, the trained model predicts what the C++ API predicts with the trained parameters.
  std::string saved = test::temp_path("trained.safetensors");
  C_OK(axon_model_save(m.h, saved.c_str()));
  CModel back;
  C_OK(axon_model_load(saved.c_str(), AXON_CPU, 0, &back.h));
  std::vector<double> y(6 * 2);
  CTensor tx = wrap(x, {6, 3}), ty = wrap(y, {6, 2});
  C_OK(axon_model_predict_into(back.h, 1, &tx.h, ty.h));
  CHECK(y == predict(mlp(), trained, from_vector(x, {6, 3})).to_vector<double>());

  axon_optimizer opt = nullptr;
  CHECK(axon_optimizer_create(m.h, "adamm", 0, "mean_squared_error", 0, &opt) == AXON_ERROR);
  CHECK(std::string(axon_last_error()).find("unknown optimizer 'adamm'") != std::string::npos);
  CHECK(axon_optimizer_create(m.h, "sgd", 0, "mean_squared_error", 8, &opt) == AXON_ERROR_INVALID_ARGUMENT);
  std::filesystem::remove(path);
  std::filesystem::remove(saved);
}

TEST_CASE("C ABI: different models from different threads give the single-threaded results", "[c_api]") {
  constexpr int kThreads = 4;
  std::vector<std::string> files;
  for (int i = 0; i < kThreads; ++i) files.push_back(mlp_file(100 + i));
  // What each model computes (predictions after 5 training steps, input gradients), one at a time.
  auto work = [&](int i, std::vector<double>& out) {
    CModel m;
    if (axon_model_load(files[i].c_str(), AXON_CPU, 0, &m.h) != AXON_OK) return false;
    std::vector<double> x = inputs(8 * 3, 0.1 * i), target = inputs(8 * 2, 1.0 + i), y(8 * 2), g(8 * 3);
    // Runs on several threads at once: no Catch macros in here (INFO/REQUIRE from two threads corrupt
    // Catch's message stack).
    CTensor tx = wrap_quiet(x, {8, 3}), ty = wrap_quiet(y, {8, 2}), tg = wrap_quiet(g, {8, 3}),
            tt = wrap_quiet(target, {8, 2});
    if (!tx.h || !ty.h || !tg.h || !tt.h) return false;
    axon_optimizer opt = nullptr;
    bool ok = axon_optimizer_create(m.h, "adam", 1e-2, "mean_squared_error", 0, &opt) == AXON_OK;
    for (int s = 0; s < 5 && ok; ++s) ok = axon_train_step(opt, tx.h, tt.h, nullptr) == AXON_OK;
    axon_optimizer_destroy(opt);
    ok = ok && axon_model_predict_into(m.h, 1, &tx.h, ty.h) == AXON_OK &&
         axon_model_input_gradients(m.h, 1, &tx.h, nullptr, nullptr, &tg.h) == AXON_OK;
    out = y;
    out.insert(out.end(), g.begin(), g.end());
    return ok;
  };
  std::vector<std::vector<double>> serial(kThreads), parallel(kThreads);
  for (int i = 0; i < kThreads; ++i) REQUIRE(work(i, serial[i]));
  std::vector<int> ok(kThreads, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      for (int round = 0; round < 3; ++round) ok[i] += work(i, parallel[i]) && parallel[i] == serial[i];
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) CHECK(ok[i] == 3);
  CHECK(serial[0] != serial[1]);  // the models differ, so a mix-up would show
  for (auto& f : files) std::filesystem::remove(f);
}

#ifdef AXON_TEST_DLPACK
TEST_CASE("DLPack: import takes ownership and calls the producer's deleter once; export is zero-copy", "[c_api]") {
  static int deleted = 0;
  deleted = 0;
  std::vector<float> buf = {1, 2, 3, 4, 5, 6};
  int64_t shape[2] = {1, 3}, strides[2] = {3, 1};
  DLManagedTensor m{};
  m.dl_tensor.data = buf.data();
  m.dl_tensor.device = {kDLCPU, 0};
  m.dl_tensor.ndim = 2;
  m.dl_tensor.dtype = {kDLFloat, 32, 1};
  m.dl_tensor.shape = shape;
  m.dl_tensor.strides = strides;
  m.dl_tensor.byte_offset = sizeof(float);  // the tensor starts at buf[1]
  m.deleter = [](DLManagedTensor*) { ++deleted; };
  {
    Tensor t = from_dlpack(&m);
    CHECK(t.data_ptr() == buf.data() + 1);
    CHECK(t.to_vector<float>() == std::vector<float>{2, 3, 4});
    buf[2] = 30;  // the producer's writes are seen
    CHECK(t.to_vector<float>() == std::vector<float>{2, 30, 4});
    Tensor view = t.reshape({3});
    t = Tensor();
    CHECK(deleted == 0);  // the view keeps it
  }
  CHECK(deleted == 1);
  // A failed import still releases the tensor, as the caller handed it over.
  m.dl_tensor.dtype = {kDLComplex, 64, 1};
  AXON_REQUIRE_THROWS_WITH(from_dlpack(&m), "from_dlpack: dtype code 5 with 64 bits has no axon dtype");
  CHECK(deleted == 2);
  m.dl_tensor.dtype = {kDLFloat, 32, 1};
  m.dl_tensor.device = {kDLOpenCL, 0};
  axon_tensor h = nullptr;
  CHECK(axon_tensor_from_dlpack(&m, &h) == AXON_ERROR);
  CHECK(std::string(axon_last_error()).find("device type 4 is not supported") != std::string::npos);
  CHECK(deleted == 3);

  // Export: the consumer sees axon's memory, shape and strides; the deleter releases axon's reference.
  Tensor a = arange(12, DType::f64).reshape({3, 4}).transpose(0, 1);
  DLManagedTensor* e = to_dlpack(a);
  CHECK(e->dl_tensor.data == a.data_ptr());
  CHECK((e->dl_tensor.ndim == 2 && e->dl_tensor.shape[0] == 4 && e->dl_tensor.shape[1] == 3));
  CHECK((e->dl_tensor.strides[0] == 1 && e->dl_tensor.strides[1] == 4));
  CHECK((e->dl_tensor.dtype.code == kDLFloat && e->dl_tensor.dtype.bits == 64));
  Tensor back = from_dlpack(e);  // a round trip: same memory
  CHECK(back.data_ptr() == a.data_ptr());
  CHECK(back.to_vector<double>() == a.to_vector<double>());
}

#endif  // AXON_TEST_DLPACK

TEST_CASE("External stream guard: a null stream is a no-op; a stream without CUDA is an error", "[c_api]") {
  { cuda::ExternalStream none(nullptr, 0); }
#ifndef AXON_HAS_CUDA
  int dummy = 0;
  AXON_REQUIRE_THROWS_WITH(cuda::ExternalStream(reinterpret_cast<cudaStream_t>(&dummy), 0),
                           "external stream: a CUDA stream for cuda:0 was given but axon was built without CUDA");
  CHECK(cuda::external_stream(0) == nullptr);
#endif
}

TEST_CASE("External stream guard: work goes on the caller's stream, ordered both ways", "[c_api][cuda]") {
  AXON_REQUIRE_CUDA();
#ifdef AXON_HAS_CUDA
  cudaStream_t s = nullptr;
  REQUIRE(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess);
  cudaStream_t own = cuda::context(0).stream;
  {
    cuda::ExternalStream guard(s, 0);
    CHECK(cuda::stream(0) == s);
    {
      cuda::ExternalStream inner(nullptr, 0);  // a null guard changes nothing
      CHECK(cuda::stream(0) == s);
    }
  }
  CHECK(cuda::stream(0) == own);

  // The C ABI: the caller fills its device buffer on its stream and runs the model on that stream
  // without synchronising in between; the results equal the CPU's.
  Params params;
  std::string path = mlp_file(21, &params);
  CModel m;
  C_OK(axon_model_load(path.c_str(), AXON_CUDA, 0, &m.h));
  std::vector<double> x = inputs(64 * 3, 0.2), y(64 * 2);
  void *dx = nullptr, *dy = nullptr;
  REQUIRE(cudaMalloc(&dx, x.size() * sizeof(double)) == cudaSuccess);
  REQUIRE(cudaMalloc(&dy, y.size() * sizeof(double)) == cudaSuccess);
  CTensor tx, ty;
  int64_t xs[2] = {64, 3}, ys[2] = {64, 2};
  C_OK(axon_tensor_from_data(dx, 2, xs, nullptr, AXON_F64, AXON_CUDA, 0, nullptr, nullptr, &tx.h));
  C_OK(axon_tensor_from_data(dy, 2, ys, nullptr, AXON_F64, AXON_CUDA, 0, nullptr, nullptr, &ty.h));
  C_OK(axon_set_stream(0, s));
  REQUIRE(cudaMemcpyAsync(dx, x.data(), x.size() * sizeof(double), cudaMemcpyHostToDevice, s) == cudaSuccess);
  C_OK(axon_model_predict_into(m.h, 1, &tx.h, ty.h));
  REQUIRE(cudaMemcpyAsync(y.data(), dy, y.size() * sizeof(double), cudaMemcpyDeviceToHost, s) == cudaSuccess);
  REQUIRE(cudaStreamSynchronize(s) == cudaSuccess);
  C_OK(axon_set_stream(0, nullptr));
  CHECK_THAT(y, Catch::Matchers::Approx(predict(mlp(), params, from_vector(x, {64, 3})).to_vector<double>())
                    .epsilon(1e-12));
  tx.reset();
  ty.reset();
  cudaFree(dx);
  cudaFree(dy);
  cudaStreamDestroy(s);
  std::filesystem::remove(path);
#endif
}

#ifdef AXON_TEST_DLPACK
TEST_CASE("DLPack: CUDA memory both ways", "[c_api][cuda]") {
  AXON_REQUIRE_CUDA();
  Tensor a = arange(6, DType::f32, Device::cuda()).reshape({2, 3});
  DLManagedTensor* e = to_dlpack(a);
  CHECK((e->dl_tensor.device.device_type == kDLCUDA && e->dl_tensor.device.device_id == 0));
  Tensor back = from_dlpack(e);
  CHECK(back.device() == Device::cuda());
  CHECK(back.data_ptr() == a.data_ptr());
  CHECK(back.to(Device::cpu()).to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5});
}
#endif  // AXON_TEST_DLPACK
