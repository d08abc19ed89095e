// Softmax cross-entropy from logits: one fused kernel forward (saving logsumexp per row) and one
// elementwise kernel backward (softmax * sum(y) - y).
#include <axon/kernels/cross_entropy.hpp>
#include <axon/kernels/index.hpp>
#include <axon/nn_ops.hpp>

#include "../cuda/capture.hpp"
#include "../cuda/deferred.hpp"
#include "elementwise.hpp"

namespace axon {

namespace {
using autograd::Grads;

struct XentSaved {
  Tensor x, labels, lse, ysum;  // contiguous [rows, classes] logits and labels, per-row stats
  int64_t rows = 0, classes = 0;
  bool sparse = false;
};

Tensor xent_backward(const XentSaved& s, const Tensor& dloss) {
  Tensor dl = detail::to_dtype_untracked(dloss, s.x.dtype());
  if (!dl.is_contiguous()) dl = contiguous(dl);
  Tensor dx(s.x.shape(), s.x.dtype(), s.x.device());
  if (dx.numel() == 0) return dx;
  const void* ysum = s.sparse ? nullptr : s.ysum.data_ptr();
  AXON_ON_DEVICE(s.x.device(),
                 kernels::cpu::softmax_xent_backward(s.x.dtype(), s.x.data_ptr(), s.labels.data_ptr(), s.sparse,
                                                     s.lse.data_ptr(), ysum, dl.data_ptr(), dx.data_ptr(), s.rows,
                                                     s.classes),
                 cuda::backend().softmax_xent_backward(s.x.dtype(), s.x.data_ptr(), s.labels.data_ptr(), s.sparse,
                                                       s.lse.data_ptr(), ysum, dl.data_ptr(), dx.data_ptr(), s.rows,
                                                       s.classes, detail::stream_for(s.x.device())));
  return dx;
}

Tensor xent(const char* op, const Tensor& logits, const Tensor& labels, bool sparse) {
  detail::check_defined(op, logits, "logits");
  detail::check_defined(op, labels, "labels");
  const Device dev = detail::same_device(op, {&logits, &labels});
  AXON_CHECK(logits.dim() >= 1, op, "logits must have a class axis, got {}", describe(logits));
  const int64_t classes = logits.shape().back();
  AXON_CHECK(classes > 0, op, "logits need at least one class, got {}", describe(logits));
  const Shape row_shape(logits.shape().begin(), logits.shape().end() - 1);
  if (sparse) {
    AXON_CHECK(labels.dtype() == DType::i32 || labels.dtype() == DType::i64, op,
               "sparse labels must be integer class ids (i32 or i64), got {}", describe(labels));
    AXON_CHECK(labels.shape() == row_shape, op, "sparse labels {} must have the logits' shape without the class axis {}",
               describe(labels), to_string(row_shape));
  } else {
    AXON_CHECK(is_floating(labels.dtype()), op, "dense labels must be floating, got {}", describe(labels));
    AXON_CHECK(labels.shape() == logits.shape(), op, "labels {} must have the logits' shape {}", describe(labels),
               describe(logits));
  }
  const DType dt = is_floating(logits.dtype()) ? logits.dtype() : DType::f32;
  XentSaved s;
  s.sparse = sparse;
  s.classes = classes;
  s.rows = numel(row_shape);
  s.x = detail::to_dtype_untracked(logits, dt).contiguous().reshape({s.rows, classes});
  if (sparse) {
    Tensor ids = detail::to_dtype_untracked(labels, DType::i64).contiguous();
    check_class_ids(op, ids, classes, "logits", logits);
    s.labels = ids.reshape({s.rows});
  } else {
    s.labels = detail::to_dtype_untracked(labels, dt).contiguous().reshape({s.rows, classes});
  }
  const DType acc = dt == DType::f64 ? DType::f64 : DType::f32;
  s.lse = Tensor({s.rows}, acc, dev);
  if (!sparse) s.ysum = Tensor({s.rows}, acc, dev);
  Tensor loss(row_shape, dt, dev);
  if (s.rows > 0) {
    void* ysum = sparse ? nullptr : s.ysum.data_ptr();
    AXON_ON_DEVICE(dev,
                   kernels::cpu::softmax_xent_forward(dt, s.x.data_ptr(), s.labels.data_ptr(), sparse, loss.data_ptr(),
                                                      s.lse.data_ptr(), ysum, s.rows, classes),
                   cuda::backend().softmax_xent_forward(dt, s.x.data_ptr(), s.labels.data_ptr(), sparse,
                                                        loss.data_ptr(), s.lse.data_ptr(), ysum, s.rows, classes,
                                                        detail::stream_for(dev)));
  }
  if (autograd::recording()) {
    Tensor l0 = logits, y0 = labels;
    autograd::record(op, {logits, labels}, {loss}, [s, l0, y0, sparse, row_shape](const Grads& g) {
      Tensor gl = unsqueeze(g[0], -1);
      if (autograd::recording()) {
        // grad of grad: the composite formula, differentiable again
        Tensor ls = log_softmax(l0, -1);
        if (sparse) {
          Tensor oh = one_hot(y0, ls.shape().back(), ls.dtype());
          return Grads{mul(gl, sub(exp(ls), oh)), Tensor()};
        }
        Tensor sy = sum(y0, {-1}, true);
        return Grads{mul(gl, sub(mul(exp(ls), sy), y0)), mul(gl, neg(ls))};
      }
      Tensor dx = xent_backward(s, g[0].reshape({s.rows})).reshape(l0.shape());
      if (sparse) return Grads{dx, Tensor()};
      // d loss / d y = -log_softmax(x)
      return Grads{dx, mul(gl, neg(log_softmax(l0, -1)))};
    });
  }
  return loss;
}
}  // namespace

void check_class_ids(const char* op, const Tensor& ids, int64_t classes, const char* scores_name,
                     const Tensor& scores) {
  AXON_CHECK(ids.dtype() == DType::i32 || ids.dtype() == DType::i64, op, "class ids must be i32 or i64, got {}",
             describe(ids));
  if (ids.numel() == 0) return;
  if (ids.is_cuda()) {
    if (cuda::capture::active_here(ids.device().index)) {  // no read-back in a graph: fails the next check
      NoGrad ng;
      Tensor bad = any(logical_or(lt(ids, 0), ge(ids, classes)));
      cuda::capture::defer_check(bad, op, fmt::format("class ids must lie in [0, {}) for {} {}", classes, scores_name,
                                                      describe(scores)));
    } else {
      cuda::deferred::check_range(op, cuda::deferred::Kind::class_id, ids, 0, classes);
    }
    return;
  }
  const int64_t pos = kernels::cpu::find_bad_index(ids.dtype(), ids.data_ptr(), detail::make_indexer(ids), ids.numel(),
                                                   classes, false);
  AXON_CHECK(pos < 0, op, "class ids must lie in [0, {}) for {} {}", classes, scores_name, describe(scores));
}

Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels) {
  return xent("softmax_cross_entropy", logits, labels, false);
}
Tensor sparse_softmax_cross_entropy(const Tensor& logits, const Tensor& labels) {
  return xent("sparse_softmax_cross_entropy", logits, labels, true);
}

}  // namespace axon
