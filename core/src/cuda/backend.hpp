#pragma once
// The CUDA backend as the rest of core reaches it: one table of function pointers. In a shared CUDA
// build the backend (this directory, kernels/cuda, kernels/cublas, kernels/cudnn) is its own library,
// libaxon_cuda.so, that libaxon.so opens on first CUDA use or device query (cuda_loader/loader.cpp): so a
// program linked to libaxon.so needs no CUDA library to load, and a node without a GPU never maps
// one. A static build links the backend in and the table is the backend's own. Not installed.
//
// Op front-ends call kernels through the table (`cuda::backend().softmax(...)` in the CUDA branch of
// AXON_ON_DEVICE); the capture and deferred-check functions of capture.hpp / deferred.hpp keep their
// names, libaxon.so forwarding them to the table (cuda_loader/forward.cpp). The members take their types
// from the functions' own declarations, so a signature is written once, in its header.
#include <cstdint>
#include <memory>
#include <string>

#include <axon/cuda_context.hpp>
#include <axon/kernels/activation.hpp>
#include <axon/kernels/conv.hpp>
#include <axon/kernels/copy.hpp>
#include <axon/kernels/cross_entropy.hpp>
#include <axon/kernels/cudnn_pool_norm.hpp>
#include <axon/kernels/dense.hpp>
#include <axon/kernels/elementwise.hpp>
#include <axon/kernels/gemm.hpp>
#include <axon/kernels/index.hpp>
#include <axon/kernels/norm.hpp>
#include <axon/kernels/optim.hpp>
#include <axon/kernels/pool.hpp>
#include <axon/kernels/random.hpp>
#include <axon/kernels/recurrent.hpp>
#include <axon/kernels/reduce.hpp>
#include <axon/kernels/scan.hpp>
#include <axon/kernels/softmax.hpp>
#include <axon/kernels/sort.hpp>
#include <axon/storage.hpp>

#include "../ops/internal.hpp"
#include "capture.hpp"
#include "deferred.hpp"
#include "graph_exec.hpp"
#include "pinned.hpp"

namespace axon::cuda::runtime {
// What core's storage, tensor and device code needs of the CUDA runtime (runtime.cpp).
int device_count();                                     // 0 without a driver or a device
void* allocate(std::size_t bytes, int index);           // on cuda:index's stream; null when out of memory
std::uint64_t reserved_bytes(int index);                // the pool's reservation (0 when unknown)
void trim_pool(int index);                              // waits for the stream, then trims the pool
void copy_across(const Tensor& src, const Tensor& dst);  // contiguous bytes between two devices
cudnnContext* cudnn_handle(Context& c);                 // Context::cudnn()
// `waiter` waits for everything queued on `on` so far, without a host synchronisation (ExternalStream).
void order_after(cudaStream_t waiter, cudaStream_t on, int index);
}  // namespace axon::cuda::runtime

// X(member, function): every function of the table.
#define AXON_CUDA_BACKEND_FUNCTIONS(X)                                          \
  X(device_count, cuda::runtime::device_count)                                  \
  X(allocate, cuda::runtime::allocate)                                          \
  X(reserved_bytes, cuda::runtime::reserved_bytes)                              \
  X(trim_pool, cuda::runtime::trim_pool)                                        \
  X(copy_across, cuda::runtime::copy_across)                                    \
  X(cudnn_handle, cuda::runtime::cudnn_handle)                                  \
  X(order_after, cuda::runtime::order_after)                                    \
  X(pinned_allocate, cuda::pinned::allocate)                                    \
  X(pinned_copy_to_device, cuda::pinned::copy_to_device)                       \
  X(context, cuda::context)                                                     \
  X(find_context, cuda::find_context)                                           \
  X(capturing, cuda::capturing)                                                 \
  X(active_here, cuda::capture::active_here)                                    \
  X(check_not_capturing, cuda::capture::check_not_capturing)                    \
  X(on_allocate, cuda::capture::on_allocate)                                    \
  X(release, cuda::capture::release)                                            \
  X(rng_slot, cuda::capture::rng_slot)                                          \
  X(generator_destroyed, cuda::capture::generator_destroyed)                    \
  X(defer_check, cuda::capture::defer_check)                                    \
  X(build_graph, cuda::capture::build_graph)                                    \
  X(replay, cuda::capture::replay)                                              \
  X(check_graph, cuda::capture::check_graph)                                    \
  X(check_cpu_outside_capture, detail::check_cpu_outside_capture)               \
  X(check_range, cuda::deferred::check_range)                                   \
  X(record_error, cuda::deferred::record_error)                                 \
  X(synchronize, cuda::deferred::synchronize)                                   \
  X(activation_forward, kernels::cuda::activation_forward)                      \
  X(activation_backward, kernels::cuda::activation_backward)                    \
  X(dense_epilogue, kernels::cuda::dense_epilogue)                              \
  X(dense_epilogue_backward, kernels::cuda::dense_epilogue_backward)            \
  X(binary, kernels::cuda::binary)                                              \
  X(binary_scalar, kernels::cuda::binary_scalar)                                \
  X(clamp, kernels::cuda::clamp)                                                \
  X(compare, kernels::cuda::compare)                                            \
  X(compare_scalar, kernels::cuda::compare_scalar)                              \
  X(logical, kernels::cuda::logical)                                            \
  X(unary, kernels::cuda::unary)                                                \
  X(where, kernels::cuda::where)                                                \
  X(copy_cast, kernels::cuda::copy_cast)                                        \
  X(fill, kernels::cuda::fill)                                                  \
  X(cumsum, kernels::cuda::cumsum)                                              \
  X(cumsum_workspace_bytes, kernels::cuda::cumsum_workspace_bytes)              \
  X(reduce, kernels::cuda::reduce)                                              \
  X(reduce_workspace_bytes, kernels::cuda::reduce_workspace_bytes)              \
  X(sort, kernels::cuda::sort)                                                  \
  X(sort_workspace_bytes, kernels::cuda::sort_workspace_bytes)                  \
  X(gather, kernels::cuda::gather)                                              \
  X(scatter_add, kernels::cuda::scatter_add)                                    \
  X(scatter_add_rows, kernels::cuda::scatter_add_rows)                          \
  X(one_hot, kernels::cuda::one_hot)                                            \
  X(random_fill, kernels::cuda::random_fill)                                    \
  X(softmax, kernels::cuda::softmax)                                            \
  X(softmax_backward, kernels::cuda::softmax_backward)                          \
  X(softmax_xent_forward, kernels::cuda::softmax_xent_forward)                  \
  X(softmax_xent_backward, kernels::cuda::softmax_xent_backward)                \
  X(norm_forward, kernels::cuda::norm_forward)                                  \
  X(norm_backward, kernels::cuda::norm_backward)                                \
  X(norm_param_chunks, kernels::cuda::norm_param_chunks)                        \
  X(norm_param_partials, kernels::cuda::norm_param_partials)                    \
  X(max_pool_forward, kernels::cuda::max_pool_forward)                          \
  X(max_pool_backward, kernels::cuda::max_pool_backward)                        \
  X(fused_adam, kernels::cuda::fused_adam)                                      \
  X(fused_sgd_momentum, kernels::cuda::fused_sgd_momentum)                      \
  X(im2col, kernels::cuda::im2col)                                              \
  X(col2im, kernels::cuda::col2im)                                              \
  X(gemm, kernels::cuda::gemm)                                                  \
  X(lstm_cell_forward, kernels::cuda::lstm_cell_forward)                        \
  X(lstm_cell_backward, kernels::cuda::lstm_cell_backward)                      \
  X(cudnn_supports, kernels::cudnn::supports)                                   \
  X(cudnn_forward, kernels::cudnn::forward)                                     \
  X(cudnn_backward_data, kernels::cudnn::backward_data)                         \
  X(cudnn_backward_filter, kernels::cudnn::backward_filter)                     \
  X(cudnn_available, kernels::cudnn::available)                                 \
  X(cudnn_runs, kernels::cudnn::runs)                                           \
  X(cudnn_force_path, kernels::cudnn::force_path)                               \
  X(cudnn_choose, kernels::cudnn::choose)                                       \
  X(cudnn_pool_norm_runs, kernels::cudnn::pool_norm_runs)                       \
  X(cudnn_pool_supports, kernels::cudnn::pool_supports)                         \
  X(cudnn_pool_forward, kernels::cudnn::pool_forward)                           \
  X(cudnn_pool_backward, kernels::cudnn::pool_backward)                         \
  X(cudnn_bn_supports, kernels::cudnn::batch_norm_supports)                     \
  X(cudnn_bn_fused_relu, kernels::cudnn::fused_relu_supported)                  \
  X(cudnn_bn_reserve_bytes, kernels::cudnn::batch_norm_reserve_bytes)           \
  X(cudnn_bn_training, kernels::cudnn::batch_norm_forward_training)             \
  X(cudnn_bn_inference, kernels::cudnn::batch_norm_forward_inference)           \
  X(cudnn_bn_backward, kernels::cudnn::batch_norm_backward)

namespace axon::cuda {

// Bumped whenever the table changes: a libaxon_cuda.so from another build is refused, not called.
inline constexpr int kBackendAbi = 3;

struct Backend {
  int abi = kBackendAbi;
  int table_bytes = sizeof(Backend);
#define AXON_CUDA_BACKEND_MEMBER(member, fn) decltype(&::axon::fn) member = nullptr;
  AXON_CUDA_BACKEND_FUNCTIONS(AXON_CUDA_BACKEND_MEMBER)
#undef AXON_CUDA_BACKEND_MEMBER
};

// The backend once loaded, else null; never loads it (what "nothing can be capturing" asks).
const Backend* loaded_backend() noexcept;
// Loads the backend on the first call; null when it is absent or unusable (why: backend_error()).
const Backend* find_backend();
// Why find_backend() found none (empty when it did).
const std::string& backend_error();
// find_backend(), or an axon::Error saying why there is none.
const Backend& backend();

}  // namespace axon::cuda

// The backend's entry point (backend.cpp): the only symbol libaxon_cuda.so exports.
extern "C" const axon::cuda::Backend* axon_cuda_backend_v1();
