// The data-parallel hooks (training::DataParallel) over a communicator: gradients averaged in
// buckets, parameters broadcast from rank 0, metrics averaged.
#include <axon/ops.hpp>

#include "internal.hpp"

namespace axon::dist {
namespace {

struct Entry {
  const std::string* layer;
  const std::string* name;
  Tensor t;
};

// Consecutive entries of one dtype and device, about `bytes` in all (a larger tensor is a bucket
// of its own). The same on every rank: Params iterate in name order.
std::vector<std::vector<Entry>> buckets(const Params& params, std::size_t bytes) {
  std::vector<std::vector<Entry>> out;
  std::size_t filled = 0;
  for (const auto& [layer, m] : params)
    for (const auto& [name, t] : m) {
      const bool fits = !out.empty() && out.back().back().t.dtype() == t.dtype() &&
                        out.back().back().t.device() == t.device() && filled + t.nbytes() <= bytes;
      if (!fits) {
        out.emplace_back();
        filled = 0;
      }
      out.back().push_back({&layer, &name, t});
      filled += t.nbytes();
    }
  return out;
}

Tensor pack(const std::vector<Entry>& bucket) {
  if (bucket.size() == 1) return bucket[0].t.reshape({-1});
  std::vector<Tensor> flat;
  flat.reserve(bucket.size());
  for (const Entry& e : bucket) flat.push_back(e.t.reshape({-1}));
  return concat(flat, 0);
}

void unpack(const std::vector<Entry>& bucket, const Tensor& flat, Params& out) {
  int64_t offset = 0;
  for (const Entry& e : bucket) {
    const int64_t n = e.t.numel();
    out[*e.layer][*e.name] = flat.slice(0, offset, offset + n).reshape(e.t.shape());
    offset += n;
  }
}

// Every bucket is sent before the first is waited on: the reductions run back to back in the
// backend while this rank packs the next bucket.
Params collective_buckets(const Params& params, std::size_t bytes, const std::function<Work(const Tensor&)>& start) {
  std::vector<std::vector<Entry>> bs = buckets(params, bytes);
  std::vector<Work> works;
  works.reserve(bs.size());
  for (const auto& b : bs) works.push_back(start(pack(b)));
  Params out;
  for (std::size_t i = 0; i < bs.size(); ++i) unpack(bs[i], works[i].wait(), out);
  return out;
}

}  // namespace

Params average_params(const Communicator& comm, const Params& params) {
  if (comm.size() == 1) return params;
  return collective_buckets(params, comm.options().bucket_bytes,
                            [&](const Tensor& t) { return comm.iall_reduce(t, ReduceOp::mean); });
}

training::DataParallel Communicator::data_parallel() const {
  training::DataParallel dp;
  dp.rank = rank();
  dp.size = size();
  Communicator comm = *this;
  dp.broadcast_params = [comm](const Params& p) {
    if (comm.size() == 1) return p;
    return collective_buckets(p, comm.options().bucket_bytes, [&](const Tensor& t) { return comm.ibroadcast(t, 0); });
  };
  dp.average_gradients = [comm](const Params& g) { return average_params(comm, g); };
  dp.average = [comm](const Tensor& t) { return comm.size() == 1 ? t : comm.all_reduce(t, ReduceOp::mean); };
  return dp;
}

}  // namespace axon::dist
