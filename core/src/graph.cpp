// compile(): option and input checks shared by both devices, and the eager wrapper used on the CPU
// (and in CPU-only builds). The CUDA graph itself is in cuda/graph_capture.cpp.
#include <set>

#include <axon/graph.hpp>

#include "cuda/capture.hpp"
#include "cuda/graph_exec.hpp"

namespace axon {

struct CompiledFn::Impl {
  Fn fn;  // the eager wrapper calls it; a CUDA graph no longer needs it
  Device device;
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  std::vector<std::pair<std::size_t, std::size_t>> donate;
  std::shared_ptr<cuda::capture::GraphExec> graph;  // set on CUDA
};

namespace {

std::string signature(const Shape& shape, DType dt, Device dev) {
  return fmt::format("{}{} on {}", dtype_name(dt), to_string(shape), dev.str());
}

void check_inputs(const CompiledFn::Impl& c, const std::vector<Tensor>& in) {
  AXON_CHECK(in.size() == c.shapes.size(), "compiled function", "expected {} input(s), got {}", c.shapes.size(),
             in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    AXON_CHECK(in[i].defined(), "compiled function", "input {} is undefined", i);
    AXON_CHECK(in[i].shape() == c.shapes[i] && in[i].dtype() == c.dtypes[i] && in[i].device() == c.device,
               "compiled function", "input {} is {} but the function was compiled for {} (shapes, dtypes and devices "
               "are fixed at compile time: compile again for others)",
               i, describe(in[i]), signature(c.shapes[i], c.dtypes[i], c.device));
  }
}

}  // namespace

namespace detail {
// A donated output must fit its input's buffer.
void check_donated_outputs(const std::vector<std::pair<std::size_t, std::size_t>>& donate,
                           const std::vector<Shape>& in_shapes, const std::vector<DType>& in_dtypes,
                           const std::vector<Tensor>& out) {
  for (auto [o, i] : donate) {
    AXON_CHECK(o < out.size(), "compiled function", "donate {{{}, {}}}: the function returned {} output(s)", o, i,
               out.size());
    AXON_CHECK(out[o].defined(), "compiled function", "output {} is undefined", o);
    AXON_CHECK(out[o].shape() == in_shapes[i] && out[o].dtype() == in_dtypes[i], "compiled function",
               "output {} ({}) is donated to input {} ({}): their shapes and dtypes must match", o, describe(out[o]), i,
               signature(in_shapes[i], in_dtypes[i], out[o].device()));
  }
}
}  // namespace detail

CompiledFn compile(CompiledFn::Fn fn, const std::vector<Tensor>& examples, CompileOptions o) {
  AXON_CHECK(static_cast<bool>(fn), "compile", "the function is empty");
  AXON_CHECK(o.warmup >= 0, "compile", "warmup must be non-negative, got {}", o.warmup);
  auto c = std::make_shared<CompiledFn::Impl>();
  c->device = o.device ? *o.device : Device::cpu();
  for (std::size_t i = 0; i < examples.size(); ++i) {
    AXON_CHECK(examples[i].defined(), "compile", "example input {} is undefined", i);
    if (i == 0 && !o.device) c->device = examples[0].device();
    // A graph cannot take host tensors (they would be read once, at capture) nor span devices.
    AXON_CHECK(examples[i].device() == c->device, "compile",
               "example input {} is {} but the function runs on {}: every input must be on that one device", i,
               describe(examples[i]), c->device.str());
    c->shapes.push_back(examples[i].shape());
    c->dtypes.push_back(examples[i].dtype());
  }
  std::set<std::size_t> outs, ins;
  for (auto [out, in] : o.donate) {
    AXON_CHECK(in < examples.size(), "compile", "donate {{{}, {}}}: input {} is out of range for {} input(s)", out, in,
               in, examples.size());
    AXON_CHECK(outs.insert(out).second, "compile", "donate: output {} is donated twice", out);
    AXON_CHECK(ins.insert(in).second, "compile", "donate: input {} receives two outputs", in);
  }
  c->donate = o.donate;
  if (c->device.is_cuda()) {
    c->graph = cuda::capture::build_graph(fn, examples, o, c->device);
  } else {
    c->fn = std::move(fn);
  }
  CompiledFn r;
  r.impl_ = std::move(c);
  return r;
}

std::vector<Tensor> CompiledFn::call(const std::vector<Tensor>& inputs, long caller_handles) const {
  AXON_CHECK(impl_, "compiled function", "the compiled function is empty (default-constructed)");
  check_inputs(*impl_, inputs);
  if (impl_->graph) return cuda::capture::replay(*impl_->graph, inputs, caller_handles);
  std::vector<Tensor> out = impl_->fn(inputs);
  detail::check_donated_outputs(impl_->donate, impl_->shapes, impl_->dtypes, out);
  return out;
}

bool CompiledFn::captured() const { return impl_ && impl_->graph; }
Device CompiledFn::device() const {
  AXON_CHECK(impl_, "compiled function", "the compiled function is empty (default-constructed)");
  return impl_->device;
}
std::size_t CompiledFn::num_inputs() const { return impl_ ? impl_->shapes.size() : 0; }
void CompiledFn::check() const {
  if (impl_ && impl_->graph) cuda::capture::check_graph(*impl_->graph);
}

}  // namespace axon
