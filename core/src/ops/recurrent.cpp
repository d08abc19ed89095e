// lstm_sequence: the fused CPU kernel forward and backward (kernels/cpu/lstm.cpp), else axon ops.
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
  if (!x.device().is_cpu() || (x.dtype() != DType::f32 && x.dtype() != DType::f64)) return false;
  for (const Tensor* t : {&wx, &wh, &bias, &c0, &h0})
    if (t->defined() && t->dtype() != x.dtype()) return false;
  return true;
}

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
  detail::check_cpu_outside_capture();
  kernels::cpu::lstm_forward(dt, d, x.data_ptr(), wx.data_ptr(), wh.data_ptr(),
                             bias.defined() ? bias.data_ptr() : nullptr, c0.data_ptr(), h0.data_ptr(),
                             gates.data_ptr(), cs.data_ptr(), hs.data_ptr());
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
    Tensor dx, dwx, dwh, dbias, hprev;
    if (need(0)) dx = Tensor(x.shape(), dt, dev);
    if (need(1)) dwx = Tensor(wx.shape(), dt, dev);
    if (need(2)) dwh = Tensor(wh.shape(), dt, dev), hprev = Tensor({B, T, U}, dt, dev);
    if (need(3)) dbias = Tensor(bias.shape(), dt, dev);
    auto ptr = [](const Tensor& t) { return t.defined() ? t.data_ptr() : nullptr; };
    kernels::cpu::lstm_backward(dt, d, x.data_ptr(), wx.data_ptr(), wh.data_ptr(), c0.data_ptr(), h0.data_ptr(),
                                gates.data_ptr(), cs.data_ptr(), hs.data_ptr(), dhs.data_ptr(), dcl.data_ptr(),
                                dhl.data_ptr(), dgates.data_ptr(), ptr(hprev), dc0.data_ptr(), dh0.data_ptr(),
                                ptr(dx), ptr(dwx), ptr(dwh), ptr(dbias));
    return {dx, dwx, dwh, dbias, dc0, dh0};
  });
  return {hs, c_last, h_last};
}

}  // namespace axon
