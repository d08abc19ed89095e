#pragma once
// compile()'s CUDA side (cuda/graph_capture.cpp): capture, instantiate, replay. Not installed. A
// CPU-only build never calls it (compile() refuses CUDA examples there before).
#include <memory>
#include <utility>
#include <vector>

#include <axon/graph.hpp>

namespace axon::detail {
void check_donated_outputs(const std::vector<std::pair<std::size_t, std::size_t>>& donate,
                           const std::vector<Shape>& in_shapes, const std::vector<DType>& in_dtypes,
                           const std::vector<Tensor>& out);
}

namespace axon::cuda::capture {

struct GraphExec;  // static buffers, the instantiated graph, its generators and deferred checks
// Warmup, capture and instantiation (graph.hpp). Inputs are checked against the examples before.
std::shared_ptr<GraphExec> build_graph(const CompiledFn::Fn& fn, const std::vector<Tensor>& examples,
                                       const CompileOptions& options, Device device);
std::vector<Tensor> replay(GraphExec& g, const std::vector<Tensor>& inputs, long caller_handles);
void check_graph(GraphExec& g);  // synchronises, then raises a failed deferred check

}  // namespace axon::cuda::capture
