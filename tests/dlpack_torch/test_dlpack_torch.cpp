// DLPack with LibTorch as the peer, through axon's C ABI: tensors pass both ways without a copy,
// a write on either side is read on the other, each side's deleter runs when the other lets go,
// and a model evaluated by axon into a torch tensor gives the C++ API's numbers.
//   test_dlpack_torch MODEL_FILE EXPECTED_TXT   (both from example_embed_model)
#include <ATen/DLConvertor.h>
#include <torch/torch.h>

#include <cstdio>
#include <fstream>

#include <axon/storage.hpp>
#include <axon_c.h>

namespace {

int failures = 0;
void check(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
  failures += !ok;
}
void c_ok(axon_status s, const char* call) {
  if (s != AXON_OK) {
    std::printf("FAIL: %s: %s\n", call, axon_last_error());
    std::exit(1);
  }
}
#define C_OK(call) c_ok(call, #call)

// A torch tensor's elements as an axon tensor over the same memory.
axon_tensor from_torch(const at::Tensor& t) {
  axon_tensor h = nullptr;
  C_OK(axon_tensor_from_dlpack(at::toDLPack(t), &h));
  return h;
}

double read_first(axon_tensor h, int64_t n) {
  std::vector<double> v(n);
  C_OK(axon_tensor_copy_to_buffer(h, v.data(), v.size() * sizeof(double)));
  return v[0];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL_FILE EXPECTED_TXT\n", argv[0]);
    return 2;
  }
  // torch -> axon: the same memory; torch's write is seen by axon, axon's by torch.
  at::Tensor t = torch::arange(12, torch::kDouble).reshape({3, 4});
  // The storage's count says who holds the memory (at::toDLPack hands over a view of t).
  const auto holders = t.storage().use_count();
  axon_tensor a = from_torch(t);
  void* data = nullptr;
  C_OK(axon_tensor_data(a, &data));
  check(data == t.data_ptr(), "torch -> axon: zero copy");
  check(t.storage().use_count() == holders + 1, "torch -> axon: axon holds a reference to torch's memory");
  t[0][0] = 42.0;
  check(read_first(a, 12) == 42.0, "torch -> axon: torch's write is read by axon");
  std::vector<double> ones(12, 1.0);
  int64_t shape[2] = {3, 4};
  axon_tensor src = nullptr;
  C_OK(axon_tensor_from_data(ones.data(), 2, shape, nullptr, AXON_F64, AXON_CPU, 0, nullptr, nullptr, &src));
  C_OK(axon_tensor_copy(src, a));  // axon writes into torch's memory
  check(t.sum().item<double>() == 12.0, "torch -> axon: axon's write is read by torch");
  C_OK(axon_tensor_destroy(a));
  check(t.storage().use_count() == holders, "torch -> axon: destroying axon's tensor runs torch's deleter");

  // A strided torch view keeps its strides.
  at::Tensor tt = torch::arange(12, torch::kFloat).reshape({3, 4}).t();
  axon_tensor av = from_torch(tt);
  int64_t st[2];
  C_OK(axon_tensor_strides(av, st));
  check(st[0] == 1 && st[1] == 4, "torch -> axon: a transposed view keeps its strides");
  C_OK(axon_tensor_destroy(av));

  // axon -> torch: torch sees axon's memory; axon's memory outlives axon's handle until torch lets go.
  const size_t in_use = axon::memory_stats(axon::Device::cpu()).in_use;  // bytes of live axon tensors
  axon_tensor z = nullptr;
  C_OK(axon_tensor_zeros(2, shape, AXON_F64, AXON_CPU, 0, &z));
  void* managed = nullptr;
  C_OK(axon_tensor_to_dlpack(z, &managed));
  {
    at::Tensor viewed = at::fromDLPack(static_cast<DLManagedTensor*>(managed));
    void* zdata = nullptr;
    C_OK(axon_tensor_data(z, &zdata));
    check(viewed.data_ptr() == zdata && viewed.size(0) == 3 && viewed.size(1) == 4, "axon -> torch: zero copy");
    viewed.fill_(3.0);
    check(read_first(z, 12) == 3.0, "axon -> torch: torch's write is read by axon");
    C_OK(axon_tensor_copy(src, z));
    check(viewed.sum().item<double>() == 12.0, "axon -> torch: axon's write is read by torch");
    C_OK(axon_tensor_destroy(z));  // torch still holds the memory
    check(viewed.sum().item<double>() == 12.0 && axon::memory_stats(axon::Device::cpu()).in_use > in_use,
          "axon -> torch: the memory outlives axon's handle");
  }  // torch calls the DLManagedTensor's deleter here
  check(axon::memory_stats(axon::Device::cpu()).in_use == in_use, "axon -> torch: torch's release frees axon's memory");
  axon_tensor_destroy(src);

  // A model file evaluated by axon on torch's tensors, written into a torch tensor in place.
  std::ifstream in(argv[2]);
  int64_t batch = 0, features = 0, outputs = 0;
  in >> batch >> features >> outputs;
  std::vector<double> x(batch * features), y(batch * outputs);
  for (double& v : x) in >> v;
  for (double& v : y) in >> v;
  check(static_cast<bool>(in), "read the C++ API's values");
  at::Tensor tx = torch::from_blob(x.data(), {batch, features}, torch::kDouble).clone();
  at::Tensor ty = torch::zeros({batch, outputs}, torch::kDouble);
  axon_model model = nullptr;
  C_OK(axon_model_load(argv[1], AXON_CPU, 0, &model));
  axon_tensor ax = from_torch(tx), ay = from_torch(ty);
  C_OK(axon_model_predict_into(model, 1, &ax, ay));
  at::Tensor want = torch::from_blob(y.data(), {batch, outputs}, torch::kDouble);
  double diff = (ty - want).abs().max().item<double>();
  std::printf("model into a torch tensor: max difference to the C++ API %.3g\n", diff);
  check(diff <= 1e-12, "model output written into torch's tensor equals the C++ API's");
  axon_tensor_destroy(ax);
  axon_tensor_destroy(ay);
  axon_model_destroy(model);

  if (torch::cuda::is_available())
    std::printf("note: LibTorch has CUDA, but this test covers CPU tensors (CUDA DLPack: test_c_api [cuda])\n");
  else
    std::printf("skipped: CUDA tensors (this LibTorch has no CUDA; test_c_api's [cuda] cases cover axon's side)\n");
  std::printf(failures ? "DLPack with LibTorch: %d FAILED\n" : "DLPack with LibTorch: OK\n", failures);
  return failures ? 1 : 0;
}
