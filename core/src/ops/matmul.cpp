// matmul with NumPy semantics: 1-D operands, broadcast batch dimensions. OpenBLAS on CPU,
// cuBLASLt/cuBLAS on CUDA. Operands whose matrices are row- or column-major (x, x.t(), slices of
// either) go to BLAS as they are; other layouts are copied first. Batches are passed as
// pointer strides, never materialised. The gradient of a broadcast operand is one product with the
// broadcast batch axes folded into its contraction.
#include <algorithm>
#include <atomic>
#include <optional>

#include <axon/kernels/gemm.hpp>
#include <axon/out.hpp>

#include "internal.hpp"
#include "out_checks.hpp"

namespace axon {

namespace {
using autograd::Grads;

std::atomic<bool> g_allow_tf32{false};

struct MatLayout {
  bool trans;  // stored column-major (as the row-major transpose)
  int64_t ld;
};

// How BLAS can read a rows x cols matrix with strides (sr, sc), if it can.
std::optional<MatLayout> matrix_layout(int64_t rows, int64_t cols, int64_t sr, int64_t sc) {
  if (cols == 1 || sc == 1) {
    int64_t ld = rows == 1 ? std::max<int64_t>(1, cols) : sr;
    if (ld >= std::max<int64_t>(1, cols)) return MatLayout{false, ld};
  }
  if (rows == 1 || sr == 1) {
    int64_t ld = cols == 1 ? std::max<int64_t>(1, rows) : sc;
    if (ld >= std::max<int64_t>(1, rows)) return MatLayout{true, ld};
  }
  return std::nullopt;
}

// Operand strides over the broadcast batch shape (0 on broadcast axes).
Strides batch_strides(const Tensor& t, const Shape& batch) {
  Strides st(batch.size(), 0);
  size_t tb = static_cast<size_t>(t.dim()) - 2;
  size_t lead = batch.size() - tb;
  for (size_t d = 0; d < tb; ++d)
    if (t.shape()[d] != 1) st[lead + d] = t.strides()[d];
  return st;
}

void run_gemm(const kernels::GemmArgs& g, Device dev) {
#ifdef AXON_HAS_CUDA
  if (dev.is_cuda()) {
    cuda::Context& ctx = cuda::context(dev.index);
    kernels::cuda::BlasHandles h{ctx.cublas, ctx.cublas_lt, ctx.workspace, ctx.workspace_bytes, cuda::stream(dev.index)};
    cuda::backend().gemm(g, h);
    return;
  }
#endif
  kernels::cpu::gemm(g);
}

// A [..., m, k] times B [..., k, n] into the contiguous out [batch..., m, n]; no autograd.
void gemm_into(Tensor A, Tensor B, const Tensor& out, const Shape& batch) {
  const int64_t m = A.shape()[A.dim() - 2], k = A.shape().back(), n = B.shape().back();
  auto layout_of = [](Tensor& t) {
    int64_t r = t.dim();
    auto l = matrix_layout(t.shape()[r - 2], t.shape()[r - 1], t.strides()[r - 2], t.strides()[r - 1]);
    if (!l) {
      t = contiguous(t);
      l = matrix_layout(t.shape()[r - 2], t.shape()[r - 1], t.strides()[r - 2], t.strides()[r - 1]);
    }
    return *l;
  };
  MatLayout la = layout_of(A), lb = layout_of(B);

  // Batch axes of size > 1, then the innermost run of axes that both operands stride uniformly
  // becomes one strided batch; the remaining outer axes are looped over.
  Strides sa = batch_strides(A, batch), sb = batch_strides(B, batch);
  std::vector<int64_t> sizes, bsa, bsb;
  for (size_t d = 0; d < batch.size(); ++d) {
    if (batch[d] == 1) continue;
    sizes.push_back(batch[d]);
    bsa.push_back(sa[d]);
    bsb.push_back(sb[d]);
  }
  int64_t inner = 1, stride_a = 0, stride_b = 0;
  int outer_dims = static_cast<int>(sizes.size());
  if (outer_dims > 0) {
    --outer_dims;
    inner = sizes[outer_dims];
    stride_a = bsa[outer_dims];
    stride_b = bsb[outer_dims];
    while (outer_dims > 0 && bsa[outer_dims - 1] == stride_a * inner && bsb[outer_dims - 1] == stride_b * inner) {
      --outer_dims;
      inner *= sizes[outer_dims];
    }
  }

  kernels::GemmArgs g;
  g.dtype = out.dtype();
  g.m = m;
  g.n = n;
  g.k = k;
  g.trans_a = la.trans;
  g.lda = la.ld;
  g.trans_b = lb.trans;
  g.ldb = lb.ld;
  g.ldc = n;
  g.batch = inner;
  g.stride_a = stride_a;
  g.stride_b = stride_b;
  g.stride_c = m * n;
  g.allow_tf32 = g_allow_tf32.load(std::memory_order_relaxed);
  // A shared B and row-major A batches whose rows are evenly spaced: one GEMM with m * batch rows
  // (the common x[B, T, C] @ W[C, N]).
  if (outer_dims == 0 && inner > 1 && stride_b == 0 && !la.trans && stride_a == m * la.ld) {
    g.m = m * inner;
    g.batch = 1;
  }

  const char* a0 = static_cast<const char*>(A.data_ptr());
  const char* b0 = static_cast<const char*>(B.data_ptr());
  char* c0 = static_cast<char*>(out.data_ptr());
  const int64_t isz = static_cast<int64_t>(out.itemsize());
  std::vector<int64_t> idx(static_cast<size_t>(outer_dims), 0);
  int64_t off_a = 0, off_b = 0, off_c = 0;
  const int64_t step_c = inner * m * n;
  for (;;) {
    g.a = a0 + off_a * isz;
    g.b = b0 + off_b * isz;
    g.c = c0 + off_c * isz;
    run_gemm(g, out.device());
    off_c += step_c;
    int d = outer_dims - 1;
    for (; d >= 0; --d) {
      off_a += bsa[d];
      off_b += bsb[d];
      if (++idx[d] < sizes[d]) break;
      off_a -= bsa[d] * sizes[d];
      off_b -= bsb[d] * sizes[d];
      idx[d] = 0;
    }
    if (d < 0) break;
  }
}

// The batch axes (of the full broadcast batch shape) along which the operand t [..., r, c] is
// broadcast: its gradient is a sum over them.
std::vector<bool> broadcast_axes(const Tensor& t, const Shape& batch) {
  std::vector<bool> summed(batch.size(), false);
  const size_t lead = batch.size() - (static_cast<size_t>(t.dim()) - 2);
  for (size_t d = 0; d < batch.size(); ++d)
    summed[d] = batch[d] != 1 && (d < lead || t.shape()[d - lead] == 1);
  return summed;
}

// sum over the `summed` batch axes of L_i @ R_i, for L [..., p, c] and R [..., c, q] broadcasting to
// `batch`; the result keeps the summed axes with size 1. The summed axes are folded into the
// contraction, L as [kept..., p, S * c] and R as [kept..., S * c, q], so that it is one product, not a
// [S..., p, q] intermediate and a reduction: the weight gradient of x[B, T, C] @ W[C, N] is
// x.view(B * T, C)^T @ g.view(B * T, N), both views of contiguous tensors.
Tensor batch_summed_product(Tensor L, Tensor R, const Shape& batch, const std::vector<bool>& summed) {
  const int64_t nb = static_cast<int64_t>(batch.size());
  int64_t s_size = 1;
  std::vector<int64_t> kept, sum_axes;
  for (int64_t d = 0; d < nb; ++d) {
    if (summed[static_cast<size_t>(d)]) {
      sum_axes.push_back(d);
      s_size *= batch[static_cast<size_t>(d)];
    } else {
      kept.push_back(d);
    }
  }
  if (sum_axes.empty()) return matmul(L, R);
  // Only the differentiated operand broadcasts on the summed axes, L and R are full-sized there: they
  // need at most leading unit axes.
  auto full_rank = [nb](const Tensor& t) {
    Shape s(static_cast<size_t>(nb + 2 - t.dim()), 1);
    s.insert(s.end(), t.shape().begin(), t.shape().end());
    return t.reshape(s);
  };
  L = full_rank(L);
  R = full_rank(R);
  const int64_t p = L.shape()[nb], c = L.shape()[nb + 1], q = R.shape()[nb + 1];
  std::vector<int64_t> lorder(kept), rorder(kept);
  lorder.push_back(nb);
  for (int64_t d : sum_axes) {
    lorder.push_back(d);
    rorder.push_back(d);
  }
  lorder.push_back(nb + 1);
  rorder.push_back(nb);
  rorder.push_back(nb + 1);
  Shape lshape, rshape, out_shape;
  for (int64_t d = 0; d < nb; ++d) out_shape.push_back(summed[static_cast<size_t>(d)] ? 1 : batch[static_cast<size_t>(d)]);
  for (int64_t d : kept) {
    lshape.push_back(L.shape()[d]);
    rshape.push_back(R.shape()[d]);
  }
  lshape.insert(lshape.end(), {p, s_size * c});
  rshape.insert(rshape.end(), {s_size * c, q});
  out_shape.insert(out_shape.end(), {p, q});
  return matmul(L.permute(lorder).reshape(lshape), R.permute(rorder).reshape(rshape)).reshape(out_shape);
}

// The product, into `into` when given (matmul_out: it has the result's shape, dtype and device).
Tensor matmul_forward(const Tensor& a, const Tensor& b, const Tensor* into = nullptr) {
  Tensor A = a.dim() == 1 ? a.unsqueeze(0) : a;
  Tensor B = b.dim() == 1 ? b.unsqueeze(-1) : b;
  const int64_t m = A.shape()[A.dim() - 2], k = A.shape().back();
  const int64_t kb = B.shape()[B.dim() - 2], n = B.shape().back();
  AXON_CHECK(k == kb, "matmul", "shapes {} and {} cannot be multiplied ({} columns against {} rows)",
             to_string(a.shape()), to_string(b.shape()), k, kb);
  Shape ba(A.shape().begin(), A.shape().end() - 2), bb(B.shape().begin(), B.shape().end() - 2);
  Shape batch(std::max(ba.size(), bb.size()), 1);
  for (size_t i = 0; i < batch.size(); ++i) {
    int64_t da = i < batch.size() - ba.size() ? 1 : ba[i - (batch.size() - ba.size())];
    int64_t db = i < batch.size() - bb.size() ? 1 : bb[i - (batch.size() - bb.size())];
    AXON_CHECK(da == db || da == 1 || db == 1, "matmul",
               "batch dimensions of shapes {} and {} cannot be broadcast together", to_string(a.shape()),
               to_string(b.shape()));
    batch[i] = da == 1 ? db : da;
  }
  Shape full = batch;
  full.push_back(m);
  full.push_back(n);
  Shape result = batch;
  if (a.dim() > 1) result.push_back(m);
  if (b.dim() > 1) result.push_back(n);

  const Device dev = a.device();
  const DType dt = a.dtype();
  if (into) {
    detail::check_out("matmul_out", *into, result, dt, dev);
    const bool blas16 = dev.is_cpu() && (dt == DType::bf16 || dt == DType::f16);
    if (numel(full) != 0 && k != 0 && into->is_contiguous() && !blas16) {
      gemm_into(A, B, into->reshape(full), batch);
      return *into;
    }
    detail::copy_to_view(matmul_forward(a, b), *into);
    return *into;
  }
  if (numel(full) == 0) return empty(result, dt, dev);
  if (k == 0) return zeros(result, dt, dev);
  if (dev.is_cpu() && (dt == DType::bf16 || dt == DType::f16)) {
    // OpenBLAS has no 16-bit GEMM: f32 products and sums, rounded once at the end.
    Tensor out32 = empty(full, DType::f32, dev);
    gemm_into(A.to(DType::f32), B.to(DType::f32), out32, batch);
    return out32.to(dt).reshape(result);
  }
  Tensor out = empty(full, dt, dev);
  gemm_into(A, B, out, batch);
  return out.reshape(result);
}
}  // namespace

void set_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool allow_tf32() { return g_allow_tf32.load(); }

namespace {
void check_operands(const char* op, const Tensor& a, const Tensor& b) {
  detail::check_defined(op, a, "first operand");
  detail::check_defined(op, b, "second operand");
  detail::same_device(op, {&a, &b});
  AXON_CHECK(a.dim() >= 1 && b.dim() >= 1, op, "both operands need at least 1 dimension, got {} and {}",
             describe(a), describe(b));
  AXON_CHECK(is_floating(a.dtype()) && is_floating(b.dtype()), op,
             "only floating-point operands are supported, got {} and {}", describe(a), describe(b));
  AXON_CHECK(a.dtype() == b.dtype(), op, "expected operands of the same dtype, got {} and {} ({} and {})",
             dtype_name(a.dtype()), dtype_name(b.dtype()), describe(a), describe(b));
}
}  // namespace

Tensor matmul_out(const Tensor& out, const Tensor& a, const Tensor& b) {
  detail::check_not_recording("matmul_out");
  check_operands("matmul_out", a, b);
  matmul_forward(a, b, &out);
  return out;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_operands("matmul", a, b);
  Tensor out;
  {
    NoGrad ng;  // the layout plumbing is not part of the graph: one tape entry for the product
    out = matmul_forward(a, b);
  }
  if (autograd::recording()) {
    autograd::record("matmul", {a, b}, {out}, [a, b](const Grads& g) {
      // Lift 1-D operands to matrices, differentiate the matrix product, and return each gradient
      // in its operand's shape, the broadcast batch axes already summed (batch_summed_product).
      Tensor A = a.dim() == 1 ? a.unsqueeze(0) : a;
      Tensor B = b.dim() == 1 ? b.unsqueeze(-1) : b;
      Tensor G = g[0];
      if (b.dim() == 1) G = G.unsqueeze(G.dim());
      if (a.dim() == 1) G = G.unsqueeze(G.dim() - 1);
      const Shape batch(G.shape().begin(), G.shape().end() - 2);
      // A data operand (x in x @ W, not tracked by any tape) gets no gradient: one GEMM saved.
      Grads d(2);
      if (autograd::needs_input_grad(0))
        d[0] = batch_summed_product(G, B.transpose(-1, -2), batch, broadcast_axes(A, batch)).reshape(a.shape());
      if (autograd::needs_input_grad(1))
        d[1] = batch_summed_product(A.transpose(-1, -2), G, batch, broadcast_axes(B, batch)).reshape(b.shape());
      return d;
    });
  }
  return out;
}

}  // namespace axon
