// lstm_sequence: fused forward and backward, on the CPU kernels/cpu/lstm.cpp, on a GPU cuBLAS and
// kernels/cuda/lstm_cell.cu; else (other dtypes) axon ops.
#include <axon/kernels/recurrent.hpp>
#include <axon/recurrent_ops.hpp>

#include "internal.hpp"

namespace axon {

namespace {
using autograd::Grads;

// The same math as separate ops: the other devices' and dtypes' forward, and the backward under a
// recording tape (so that it is itself differentiable).
LstmSequence composite(const Tensor& x, const Tensor& wx, const Tensor& wh, const Tensor& bias, const Tensor& c0,
                       const Tensor& h0, bool reverse) {
  const int64_t B = x.size(0), T = x.size(1), U = wh.size(0);
  Tensor xp = matmul(reshape(x, {B * T, x.size(2)}), wx);
  if (bias.defined()) xp = add(xp, bias);
  xp = reshape(xp, {B, T, 4 * U});
  Tensor c = c0, h = h0;
  std::vector<Tensor> outs(static_cast<size_t>(T));
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = reverse ? T - 1 - s : s;
    auto g = split(add(xp.select(1, t), matmul(h, wh)), U, -1);
    c = add(mul(sigmoid(g[1]), c), mul(sigmoid(g[0]), tanh(g[2])));
    h = mul(sigmoid(g[3]), tanh(c));
    outs[static_cast<size_t>(t)] = h;
  }
  return {stack(outs, 1), c, h};
}

// The gradients of sum(output g0) + sum(c g1) + sum(h g2) by differentiating the composite, recorded
// on the enclosing tape.
Grads composite_backward(const std::vector<Tensor>& in, bool reverse, const Grads& g) {
  std::vector<Tensor> defined;
  for (const Tensor& t : in)
    if (t.defined()) defined.push_back(t);
  auto f = [&](const std::vector<Tensor>& p) {
    size_t k = 0;
    std::vector<Tensor> v;
    for (const Tensor& t : in) v.push_back(t.defined() ? p[k++] : Tensor());
    LstmSequence r = composite(v[0], v[1], v[2], v[3], v[4], v[5], reverse);
    return add(add(sum(mul(r.output, g[0])), sum(mul(r.c, g[1]))), sum(mul(r.h, g[2])));
  };
  auto grads = autograd::value_and_grad_flat(f, defined).second;
  Grads out;
  size_t k = 0;
  for (const Tensor& t : in) out.push_back(t.defined() ? grads[k++] : Tensor());
  return out;
}

Tensor prepared(const Tensor& t) {
  if (!t.defined()) return t;
  NoGrad ng;
  return t.is_contiguous() ? t : contiguous(t);
}

void check_inputs(const Tensor& x, const Tensor& wx, const Tensor& wh, const Tensor& bias, const Tensor& c0,
                  const Tensor& h0) {
  const char* op = "lstm";
  detail::check_defined(op, x);
  detail::check_defined(op, wx, "input kernel");
  detail::check_defined(op, wh, "hidden kernel");
  detail::check_defined(op, c0, "initial c");
  detail::check_defined(op, h0, "initial h");
  detail::same_device(op, {&x, &wx, &wh, &bias, &c0, &h0});
  AXON_CHECK(x.dim() == 3 && x.size(1) > 0, op, "the input must be [batch, time > 0, features], got {}", describe(x));
  AXON_CHECK(wh.dim() == 2 && wh.size(1) == 4 * wh.size(0), op, "the hidden kernel must be [units, 4 units], got {}",
             describe(wh));
  const int64_t B = x.size(0), U = wh.size(0);
  AXON_CHECK(wx.shape() == Shape({x.size(2), 4 * U}), op, "the input kernel must be [{}, {}] for the input {}, got {}",
             x.size(2), 4 * U, describe(x), describe(wx));
  AXON_CHECK(!bias.defined() || bias.shape() == Shape({4 * U}), op, "the bias must be [{}], got {}", 4 * U,
             describe(bias));
  AXON_CHECK(c0.shape() == Shape({B, U}) && h0.shape() == Shape({B, U}), op,
             "the initial c and h must be [{}, {}], got {} and {}", B, U, describe(c0), describe(h0));
  for (const Tensor* t : {&x, &wx, &wh, &bias, &c0, &h0})
    AXON_CHECK(!t->defined() || is_floating(t->dtype()), op, "every operand must be floating, got {}", describe(*t));
}

bool fused_kernel_applies(const Tensor& x, const Tensor& wx, const Tensor& wh, const Tensor& bias, const Tensor& c0,
                          const Tensor& h0) {
  if (x.dtype() != DType::f32 && x.dtype() != DType::f64) return false;
  for (const Tensor* t : {&wx, &wh, &bias, &c0, &h0})
    if (t->defined() && t->dtype() != x.dtype()) return false;
  return true;
}

#ifdef AXON_HAS_CUDA
// An element offset into a tensor's storage, for the kernels' row pointers.
void* at(const Tensor& t, int64_t elements) {
  return static_cast<char*>(t.data_ptr()) + elements * static_cast<int64_t>(itemsize(t.dtype()));
}

// The GPU path: cuBLAS for every GEMM (the input projection of all steps, one h_prev Wh per step,
// the weight gradients with K = B T), kernels/cuda/lstm_cell.cu for the per-step pointwise passes.
void gpu_gemm(const Tensor& like, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void* a, int64_t lda,
              const void* b, int64_t ldb, void* c, int64_t ldc) {
  kernels::GemmArgs g;
  g.dtype = like.dtype();
  g.m = m, g.n = n, g.k = k;
  g.trans_a = ta, g.trans_b = tb;
  g.a = a, g.lda = lda, g.b = b, g.ldb = ldb, g.c = c, g.ldc = ldc;
  const int index = like.device().index;
  cuda::Context& ctx = cuda::context(index);
  kernels::cuda::BlasHandles h{ctx.cublas, ctx.cublas_lt, ctx.workspace, ctx.workspace_bytes, cuda::stream(index)};
  cuda::backend().gemm(g, h);
}

void gpu_forward(const kernels::LstmDims& d, const Tensor& x, const Tensor& wx, const Tensor& wh, const Tensor& bias,
                 const Tensor& c0, const Tensor& h0, const Tensor& gates, const Tensor& cs, const Tensor& hs) {
  const int64_t B = d.batch, T = d.time, U = d.units, G = 4 * U;
  const cudaStream_t st = cuda::stream(x.device().index);
  gpu_gemm(x, false, false, B * T, G, d.in, x.data_ptr(), d.in, wx.data_ptr(), G, gates.data_ptr(), G);
  Tensor gh({B, G}, x.dtype(), x.device());
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = d.reverse ? T - 1 - s : s, tp = d.reverse ? t + 1 : t - 1;
    const bool first = s == 0;
    gpu_gemm(x, false, false, B, G, U, first ? h0.data_ptr() : at(hs, tp * U), first ? U : T * U, wh.data_ptr(), G,
             gh.data_ptr(), G);
    cuda::backend().lstm_cell_forward(x.dtype(), B, U, at(gates, t * G), T * G, gh.data_ptr(),
                                      bias.defined() ? bias.data_ptr() : nullptr,
                                      first ? c0.data_ptr() : at(cs, tp * U), first ? U : T * U, at(gates, t * G),
                                      T * G, at(cs, t * U), at(hs, t * U), T * U, st);
  }
}

// dc0 and dh0 hold the final carry's gradients on entry and carry the recurrent ones through the loop.
void gpu_backward(const kernels::LstmDims& d, const Tensor& x, const Tensor& wx, const Tensor& wh, const Tensor& c0,
                  const Tensor& h0, const Tensor& gates, const Tensor& cs, const Tensor& hs, const Tensor& dhs,
                  const Tensor& dgates, const Tensor& dc0, const Tensor& dh0, const Tensor& dx, const Tensor& dwx,
                  const Tensor& dwh) {
  const int64_t B = d.batch, T = d.time, U = d.units, G = 4 * U;
  const cudaStream_t st = cuda::stream(x.device().index);
  for (int64_t s = T - 1; s >= 0; --s) {
    const int64_t t = d.reverse ? T - 1 - s : s, tp = d.reverse ? t + 1 : t - 1;
    const bool first = s == 0;
    cuda::backend().lstm_cell_backward(x.dtype(), B, U, at(gates, t * G), T * G,
                                       first ? c0.data_ptr() : at(cs, tp * U), first ? U : T * U, at(cs, t * U),
                                       at(dhs, t * U), T * U, dh0.data_ptr(), dc0.data_ptr(), at(dgates, t * G), T * G,
                                       st);
    gpu_gemm(x, false, true, B, U, G, at(dgates, t * G), T * G, wh.data_ptr(), G, dh0.data_ptr(), U);
  }
  if (dwh.defined()) {
    NoGrad ng;
    Tensor h = reshape(h0, {B, 1, U});
    Tensor hprev = T == 1 ? h
                   : d.reverse ? concat({hs.slice(1, 1, T), h}, 1)
                               : concat({h, hs.slice(1, 0, T - 1)}, 1);
    gpu_gemm(x, true, false, U, G, B * T, hprev.data_ptr(), U, dgates.data_ptr(), G, dwh.data_ptr(), G);
  }
  if (dwx.defined())
    gpu_gemm(x, true, false, d.in, G, B * T, x.data_ptr(), d.in, dgates.data_ptr(), G, dwx.data_ptr(), G);
  if (dx.defined())
    gpu_gemm(x, false, true, B * T, d.in, G, dgates.data_ptr(), G, wx.data_ptr(), G, dx.data_ptr(), d.in);
}
#endif

}  // namespace

LstmSequence lstm_sequence(const Tensor& x0, const Tensor& wx0, const Tensor& wh0, const Tensor& bias0,
                           const Tensor& c00, const Tensor& h00, bool reverse) {
  check_inputs(x0, wx0, wh0, bias0, c00, h00);
  if (!fused_kernel_applies(x0, wx0, wh0, bias0, c00, h00)) return composite(x0, wx0, wh0, bias0, c00, h00, reverse);
  const DType dt = x0.dtype();
  const Device dev = x0.device();
  const Tensor x = prepared(x0), wx = prepared(wx0), wh = prepared(wh0), bias = prepared(bias0), c0 = prepared(c00),
               h0 = prepared(h00);
  const kernels::LstmDims d{x.size(0), x.size(1), x.size(2), wh.size(0), reverse};
  const int64_t B = d.batch, T = d.time, U = d.units;
  Tensor gates({B, T, 4 * U}, dt, dev), cs({B, T, U}, dt, dev), hs({B, T, U}, dt, dev);
  AXON_ON_DEVICE(dev,
                 kernels::cpu::lstm_forward(dt, d, x.data_ptr(), wx.data_ptr(), wh.data_ptr(),
                                            bias.defined() ? bias.data_ptr() : nullptr, c0.data_ptr(), h0.data_ptr(),
                                            gates.data_ptr(), cs.data_ptr(), hs.data_ptr()),
                 gpu_forward(d, x, wx, wh, bias, c0, h0, gates, cs, hs));
  const int64_t last = reverse ? 0 : T - 1;
  Tensor c_last, h_last;
  {
    NoGrad ng;
    c_last = contiguous(cs.select(1, last));
    h_last = contiguous(hs.select(1, last));
  }
  std::vector<Tensor> inputs{x0, wx0, wh0, bias0, c00, h00};
  autograd::record("lstm", inputs, {hs, c_last, h_last}, [=](const Grads& g) -> Grads {
    if (autograd::recording()) return composite_backward(inputs, reverse, g);
    const Tensor dhs = prepared(g[0]), dcl = prepared(g[1]), dhl = prepared(g[2]);
    auto need = [&](size_t i) { return inputs[i].defined() && autograd::needs_input_grad(i); };
    Tensor dgates({B, T, 4 * U}, dt, dev), dc0({B, U}, dt, dev), dh0({B, U}, dt, dev);
    Tensor dx, dwx, dwh, dbias;
    if (need(0)) dx = Tensor(x.shape(), dt, dev);
    if (need(1)) dwx = Tensor(wx.shape(), dt, dev);
    if (need(2)) dwh = Tensor(wh.shape(), dt, dev);
    auto ptr = [](const Tensor& t) { return t.defined() ? t.data_ptr() : nullptr; };
    if (dev.is_cpu()) {
      if (need(3)) dbias = Tensor(bias.shape(), dt, dev);
      kernels::cpu::lstm_backward(dt, d, x.data_ptr(), wx.data_ptr(), wh.data_ptr(), c0.data_ptr(), h0.data_ptr(),
                                  gates.data_ptr(), cs.data_ptr(), hs.data_ptr(), dhs.data_ptr(), dcl.data_ptr(),
                                  dhl.data_ptr(), dgates.data_ptr(), dc0.data_ptr(), dh0.data_ptr(),
                                  ptr(dx), ptr(dwx), ptr(dwh), ptr(dbias));
      return {dx, dwx, dwh, dbias, dc0, dh0};
    }
#ifdef AXON_HAS_CUDA
    detail::copy_to_view(dcl, dc0);
    detail::copy_to_view(dhl, dh0);
    gpu_backward(d, x, wx, wh, c0, h0, gates, cs, hs, dhs, dgates, dc0, dh0, dx, dwx, dwh);
    if (need(3)) {
      NoGrad ng;
      dbias = sum(reshape(dgates, {B * T, 4 * U}), {0});
    }
#endif
    return {dx, dwx, dwh, dbias, dc0, dh0};
  });
  return {hs, c_last, h_last};
}

}  // namespace axon
