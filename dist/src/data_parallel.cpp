// The data-parallel hooks (training::DataParallel) over a communicator: gradients averaged in
// buckets (overlapped with the backward pass through the tape's grad_ready callback), parameters
// broadcast from rank 0, metrics averaged.
#include <axon/ops.hpp>

#include "internal.hpp"

namespace axon::dist {
namespace {

using Bucket = std::vector<std::size_t>;  // indices into a flat list of tensors

// Consecutive tensors (in `order`) of one dtype and device, about `bytes` in all (a larger tensor
// is a bucket of its own). The same on every rank: the tensors are the same model's.
std::vector<Bucket> make_buckets(const std::vector<Tensor>& ts, const std::vector<std::size_t>& order,
                                 std::size_t bytes) {
  std::vector<Bucket> out;
  std::size_t filled = 0;
  for (std::size_t i : order) {
    const Tensor& t = ts[i];
    const bool fits = !out.empty() && ts[out.back().back()].dtype() == t.dtype() &&
                      ts[out.back().back()].device() == t.device() && filled + t.nbytes() <= bytes;
    if (!fits) {
      out.emplace_back();
      filled = 0;
    }
    out.back().push_back(i);
    filled += t.nbytes();
  }
  return out;
}

std::vector<std::size_t> in_order(std::size_t n, bool reversed) {
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = reversed ? n - 1 - i : i;
  return order;
}

Tensor pack(const std::vector<Tensor>& ts, const Bucket& bucket) {
  if (bucket.size() == 1) return ts[bucket[0]].reshape({-1});
  std::vector<Tensor> flat;
  flat.reserve(bucket.size());
  for (std::size_t i : bucket) flat.push_back(ts[i].reshape({-1}));
  return concat(flat, 0);
}

void unpack(const std::vector<Tensor>& like, const Bucket& bucket, const Tensor& flat, std::vector<Tensor>& out) {
  int64_t offset = 0;
  for (std::size_t i : bucket) {
    const int64_t n = like[i].numel();
    out[i] = flat.slice(0, offset, offset + n).reshape(like[i].shape());
    offset += n;
  }
}

// Every bucket is sent before the first is waited on: the reductions run back to back in the
// backend while this rank packs the next bucket.
std::vector<Tensor> collective_buckets(const std::vector<Tensor>& ts, std::size_t bytes,
                                       const std::function<Work(const Tensor&)>& start) {
  const std::vector<Bucket> bs = make_buckets(ts, in_order(ts.size(), false), bytes);
  std::vector<Work> works;
  works.reserve(bs.size());
  for (const Bucket& b : bs) works.push_back(start(pack(ts, b)));
  std::vector<Tensor> out(ts.size());
  for (std::size_t i = 0; i < bs.size(); ++i) unpack(ts, bs[i], works[i].wait(), out);
  return out;
}

Params on_params(const Params& p, const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& fn) {
  std::vector<Tensor> flat;
  autograd::detail::flatten(p, flat);
  std::size_t i = 0;
  return autograd::detail::unflatten(p, fn(flat), i);
}

// The gradient averaging of one step, fed by the tape. Buckets are filled from the last
// parameters (whose gradients the backward finishes first) and started strictly in bucket order,
// so every rank posts the same collectives in the same order.
struct Overlap {
  Communicator comm;
  std::vector<Tensor> like;
  std::vector<Bucket> buckets;
  std::vector<std::size_t> bucket_of, missing;
  std::vector<Tensor> grads;
  std::vector<Work> works;  // of buckets 0 .. works.size() - 1

  Overlap(Communicator c, const std::vector<Tensor>& params)
      : comm(std::move(c)), like(params), grads(params.size()) {
    buckets = make_buckets(params, in_order(params.size(), true), comm.options().bucket_bytes);
    bucket_of.resize(params.size());
    for (std::size_t b = 0; b < buckets.size(); ++b) {
      missing.push_back(buckets[b].size());
      for (std::size_t i : buckets[b]) bucket_of[i] = b;
    }
  }
  void ready(std::size_t i, const Tensor& g) {
    grads[i] = g;
    --missing[bucket_of[i]];
    while (works.size() < buckets.size() && missing[works.size()] == 0)
      works.push_back(comm.iall_reduce(pack(grads, buckets[works.size()]), ReduceOp::mean));
    // MPI advances its non-blocking collectives only inside MPI calls: one test per gradient.
    if (!works.empty()) works.back().test();
  }
  std::vector<Tensor> finish() {
    AXON_CHECK(works.size() == buckets.size(), "dist.data_parallel",
               "rank {}: {} of {} gradient buckets were never completed by the backward pass", comm.rank(),
               buckets.size() - works.size(), buckets.size());
    std::vector<Tensor> out(like.size());
    for (std::size_t b = 0; b < buckets.size(); ++b) unpack(like, buckets[b], works[b].wait(), out);
    return out;
  }
};

}  // namespace

Params average_params(const Communicator& comm, const Params& params) {
  if (comm.size() == 1) return params;
  return on_params(params, [&](const std::vector<Tensor>& ts) {
    return collective_buckets(ts, comm.options().bucket_bytes,
                              [&](const Tensor& t) { return comm.iall_reduce(t, ReduceOp::mean); });
  });
}

training::DataParallel Communicator::data_parallel() const {
  training::DataParallel dp;
  dp.rank = rank();
  dp.size = size();
  Communicator comm = *this;
  dp.broadcast_params = [comm](const Params& p) {
    if (comm.size() == 1) return p;
    return on_params(p, [&](const std::vector<Tensor>& ts) {
      return collective_buckets(ts, comm.options().bucket_bytes, [&](const Tensor& t) { return comm.ibroadcast(t, 0); });
    });
  };
  dp.average_gradients = [comm](const Params& g) { return average_params(comm, g); };
  if (options().overlap)
    dp.gradient_reducer = [comm](const std::vector<Tensor>& params) {
      auto o = std::make_shared<Overlap>(comm, params);
      return training::DataParallel::GradientReducer{[o](std::size_t i, const Tensor& g) { o->ready(i, g); },
                                                     [o] { return o->finish(); }};
    };
  dp.average = [comm](const Tensor& t) { return comm.size() == 1 ? t : comm.all_reduce(t, ReduceOp::mean); };
  return dp;
}

}  // namespace axon::dist
