#pragma once
// Whole functions captured once as a CUDA graph and replayed (DESIGN.md "Compile"): the host-side
// cost of a step (op front-ends, allocator, launches) is paid once, at capture.
//
//   CompiledFn step = compile([&](const std::vector<Tensor>& in) { return std::vector<Tensor>{f(in[0], in[1])}; },
//                             {x0, w0}, {.warmup = 2});
//   std::vector<Tensor> out = step({x1, w1});  // copies x1, w1 into the graph's inputs and replays it
//
// On CUDA, compile() allocates static input buffers like the examples (and copies the examples in),
// runs fn eagerly `warmup` times on them (outside any capture: cuBLAS/cuDNN choose their
// algorithms, lazily built caches fill, the memory pool warms up), then captures one call of fn on
// the device's stream (thread-local capture mode) and instantiates the graph. Each call copies the
// new inputs into the static buffers on the stream (shapes, dtypes and devices must be those of
// the examples) and launches the graph: no host synchronisation anywhere.
//
// Memory: every tensor fn creates is a graph allocation freed inside the graph, except its
// results, which the graph copies into static output buffers (allocated after the warmup, from the
// warmup's results). The graph is therefore instantiated without AutoFreeOnLaunch and owns no
// memory between replays. Tensors from before the capture that fn drops during it (a replaced
// cache entry, say) are kept alive with the graph, which may still read them.
//
// What the results are:
//  - A result that is not donated is its static output buffer: valid until the next
//    call, which overwrites it (as PyTorch's CUDA graphs and make_graphed_callables). clone() what
//    must outlive the next call.
//  - options.donate = {{output k, input i}, ...} writes result k back into input i's buffer at the
//    end of the graph (parameters and optimizer state of a training step: new_params -> params). The
//    result is then input i's buffer, and passing it back as input i at the next call costs no copy:
//    the call consumes it, and it holds the new value afterwards. When anything else still holds
//    that result (another handle to it, or a view of it), the call first gives it a copy of its
//    value, so a result kept aside keeps its value (a copy per call while it is kept).
//  - Inputs that are not one of the previous results are copied in; such a copy never changes the
//    tensor the caller passed.
//
// Random numbers: draws inside fn read the generator's (seed, offset) from device memory that each
// call sets before the launch, then the call advances the generator's offset by what one call
// draws: replays draw fresh numbers, the same as eager calls from the same generator state. A
// generator fn draws from must outlive the compiled function (a local Generator inside fn is an
// error). The warmup calls draw eagerly and advance the generators like any call; the capture
// itself draws nothing.
//
// Inside fn, during the capture, anything that needs the host to wait for the device or that
// runs on the host throws axon::Error naming the op ("... cannot run inside a CUDA graph
// capture"): item(), to_vector(), to(other device), synchronize(), ops on CPU tensors, host
// schedules; the capture is then abandoned, the stream stays usable and compile() rethrows. Range
// checks that would read the device back (labels of a sparse cross-entropy, gather/take/one_hot
// indices) are deferred instead: the graph records them, and the call after a replay in which one
// failed (or check()) throws that check's error.
//
// On the CPU, and in a CPU-only build, compile() returns a wrapper that calls fn eagerly with the
// same input checks (donation then changes nothing: results are fresh tensors), so the API is the
// same everywhere.
//
// Tensors fn reads without taking them as inputs (captured by the lambda) are baked into the graph
// by address: keep them alive, and unchanged unless updated in place, as long as the compiled
// function is used -- or better, pass them as inputs. A compiled function is not thread-safe, and no
// other thread may use the device while compile() captures (its work would join the capture).
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <axon/tensor.hpp>

namespace axon {

struct CompileOptions {
  int warmup = 2;  // eager calls before the capture (CUDA); at least 1 there: the outputs' shapes come from it
  // {output, input} pairs: the output is written back into the input's static buffer (same shape
  // and dtype); each input and each output at most once.
  std::vector<std::pair<std::size_t, std::size_t>> donate = {};
  // The device when there are no example inputs (default: the inputs' device, else the CPU).
  std::optional<Device> device = {};
};

class CompiledFn {
 public:
  using Fn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;
  CompiledFn() = default;

  // Copies the inputs in and replays the graph (CUDA), or calls fn (CPU).
  std::vector<Tensor> operator()(const std::vector<Tensor>& inputs) const { return call(inputs, 1); }
  // As operator(), for callers that hold `caller_handles` handles to each input themselves (say one in
  // a state map and one in the input vector built from it) and drop them after the call: a donated
  // input is consumed without a copy when nothing else holds it.
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, long caller_handles) const;

  bool defined() const { return static_cast<bool>(impl_); }
  bool captured() const;  // true: a CUDA graph replays; false: the eager (CPU) wrapper
  Device device() const;
  std::size_t num_inputs() const;
  // Waits for the device and throws the error of a deferred check that failed in a replay. No-op on CPU.
  void check() const;

  struct Impl;

 private:
  friend CompiledFn compile(Fn fn, const std::vector<Tensor>& example_inputs, CompileOptions options);
  std::shared_ptr<Impl> impl_;
};

CompiledFn compile(CompiledFn::Fn fn, const std::vector<Tensor>& example_inputs, CompileOptions options = {});

}  // namespace axon
