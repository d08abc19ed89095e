#pragma once
// The cross-device op harness. An op case is written once and run on every device present:
//  - on the CPU, against a float64 reference the test computes independently;
//  - on CUDA (when a GPU is present), against the same op on the CPU;
//  - gradients against central finite differences in float64 on the CPU, and CUDA gradients
//    against CPU gradients.
// Tests that need a GPU are tagged [cuda] and skip, saying so, where none is present.
#include <functional>
#include <string>
#include <vector>

#include <axon/axon.hpp>
#include <axon/cpu_gemm.hpp>

#include "catch.hpp"

namespace axon::test {

// Scratch files and folders in the temporary folder, named by this process (<tmp>/axon_test_<pid>_<name>)
// so that tests running at once never share one. temp_path creates nothing; fresh_dir removes what is
// there (a run that must create the folder itself can be checked); empty_dir leaves it created and empty.
std::string temp_path(const std::string& name);
std::string fresh_dir(const std::string& name);
std::string empty_dir(const std::string& name);

// cpu, then cuda:0 when a GPU is present.
std::vector<Device> devices();
bool has_cuda();
#define AXON_REQUIRE_CUDA()                                                        \
  do {                                                                             \
    if (!::axon::test::has_cuda()) AXON_SKIP("no CUDA device present: skipped");   \
  } while (0)

// Asserts that `expr` throws axon::Error whose message contains `substr` (works on Catch2 v2 and v3).
#define AXON_REQUIRE_THROWS_WITH(expr, substr)                                                  \
  do {                                                                                          \
    bool axon_threw_ = false;                                                                   \
    try {                                                                                       \
      (void)(expr);                                                                             \
    } catch (const ::axon::Error& axon_e_) {                                                    \
      axon_threw_ = true;                                                                       \
      INFO("message: " << axon_e_.what());                                                      \
      CHECK(std::string(axon_e_.what()).find(substr) != std::string::npos);                     \
    }                                                                                           \
    INFO(#expr " should throw axon::Error containing \"" << substr << "\"");                   \
    CHECK(axon_threw_);                                                                         \
  } while (0)

// Sets a process-wide setting for one scope (Get / Set: its getter and setter) and puts the previous
// value back at the end, also when a check throws.
template <auto Get, auto Set>
class SettingScope {
 public:
  using Value = decltype(Get());
  explicit SettingScope(Value v) { Set(v); }
  ~SettingScope() { Set(before_); }
  SettingScope(const SettingScope&) = delete;
  SettingScope& operator=(const SettingScope&) = delete;

 private:
  Value before_ = Get();
};
using ConvPathScope = SettingScope<&cpu_conv_path, &set_cpu_conv_path>;
using GemmPathScope = SettingScope<&cpu_gemm_path, &set_cpu_gemm_path>;
using DensePathScope = SettingScope<&cpu_dense_path, &set_cpu_dense_path>;
using Avx2KernelsScope = SettingScope<&cpu_avx2_kernels, &set_cpu_avx2_kernels>;

// Row-major coordinates of flat index i in shape s, and back.
inline std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> c(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    c[d] = i % s[d];
    i /= s[d];
  }
  return c;
}
inline int64_t ravel(const std::vector<int64_t>& c, const Shape& s) {
  int64_t i = 0;
  for (size_t d = 0; d < s.size(); ++d) i = i * s[d] + c[d];
  return i;
}

// Tolerances suited to a dtype's precision.
struct Tol {
  double rtol, atol;
};
Tol tol_for(DType dt);

// Asserts |actual - expected| <= atol + rtol*|expected| elementwise (NaN matches NaN, infinities
// must match exactly); on failure reports the first mismatches with their index. Also checks shape.
void check_close(const Tensor& actual, const std::vector<double>& expected, const Shape& shape, Tol tol);
void check_close(const Tensor& actual, const Tensor& expected, Tol tol);

// predict() from one thread per input at the same time, `calls` times each; each thread's result
// must then equal apply()'s for its input within tol (each thread gets its own plan and buffers).
// Catch's macros run on the calling thread only (they are not thread-safe).
void check_predict_from_threads(const Model& model, const Params& params, const std::vector<Tensor>& inputs,
                                int calls, Tol tol);
void check_equal(const Tensor& actual, const std::vector<double>& expected, const Shape& shape);

// Deterministic test inputs: uniform in [lo, hi) from a seed (host-side, independent of axon's RNG).
std::vector<double> random_values(int64_t n, double lo, double hi, uint64_t seed);
Tensor random_tensor(const Shape& shape, DType dt, double lo = -1, double hi = 1, uint64_t seed = 1,
                     Device device = Device::cpu());

// Runs `op` on copies of `inputs` on every GPU present and compares with the CPU result.
// No-op without a GPU (the CPU result is checked against the reference by the caller).
void check_cuda_matches_cpu(const std::function<Tensor(const std::vector<Tensor>&)>& op,
                            const std::vector<Tensor>& cpu_inputs, Tol tol);

// Gradient check: f maps inputs to a tensor; the checker reduces it to a scalar with a fixed random
// weighting, computes the gradient of every floating input by autograd in f64 on the CPU and by
// central differences (step h), and compares. Then, when a GPU is present, it compares CUDA
// gradients (in f32) to the CPU ones. Inputs are converted to f64 for the check.
void check_grad(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                double h = 1e-6, Tol tol = {1e-5, 1e-6});

}  // namespace axon::test
