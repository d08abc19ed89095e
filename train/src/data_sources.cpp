#include <axon/data/idx.hpp>
#include <axon/data/npy.hpp>
#include <axon/data/pipeline.hpp>
#include <axon/ops.hpp>

#include "splitmix.hpp"

namespace axon::data {

uint64_t SampleRng::next() { return detail::splitmix64(state_); }
double SampleRng::uniform() { return double(next() >> 11) * 0x1.0p-53; }
int64_t SampleRng::randint(int64_t lo, int64_t hi) {
  AXON_CHECK(lo <= hi, "SampleRng::randint", "empty range [{}, {}]", lo, hi);
  uint64_t span = uint64_t(hi - lo) + 1;
  return span == 0 ? int64_t(next()) : lo + int64_t(next() % span);
}

Source::Source(int64_t size, GetFn get, GatherFn gather)
    : size_(size), get_(std::move(get)), gather_(std::move(gather)) {
  AXON_CHECK(size >= 0, "Source", "size {} is negative", size);
  AXON_CHECK(static_cast<bool>(get_), "Source", "no sample function");
}

Example Source::get(int64_t index) const {
  AXON_CHECK(index >= 0 && index < size_, "Source", "sample {} out of range [0, {})", index, size_);
  return get_(index);
}

training::Batch Source::gather(const std::vector<int64_t>& indices) const {
  AXON_CHECK(can_gather(), "Source", "this source has no batch gather");
  for (int64_t i : indices) AXON_CHECK(i >= 0 && i < size_, "Source", "sample {} out of range [0, {})", i, size_);
  return gather_(indices);
}

Source from_tensors(const Tensor& x_in, const Tensor& y_in) {
  AXON_CHECK(x_in.defined() && x_in.dim() >= 1, "from_tensors", "x must have a sample axis, got {}",
             x_in.defined() ? describe(x_in) : std::string("an undefined tensor"));
  Tensor x = x_in.to(Device::cpu()).contiguous();
  Tensor y = y_in.defined() ? y_in.to(Device::cpu()).contiguous() : Tensor();
  AXON_CHECK(!y.defined() || (y.dim() >= 1 && y.size(0) == x.size(0)), "from_tensors",
             "x {} and y {} must have the same number of rows", describe(x_in), describe(y_in));
  Shape xs(x.shape().begin() + 1, x.shape().end());
  Shape ys = y.defined() ? Shape(y.shape().begin() + 1, y.shape().end()) : Shape{};
  auto get = [x, y, xs, ys](int64_t i) {
    return Example{x.slice(0, i, i + 1).reshape(xs), y.defined() ? y.slice(0, i, i + 1).reshape(ys) : Tensor()};
  };
  auto gather = [x, y](const std::vector<int64_t>& idx) {
    Tensor ix = from_vector(idx, {int64_t(idx.size())});
    return training::Batch{take(x, ix, 0), y.defined() ? take(y, ix, 0) : Tensor()};
  };
  return Source(x.size(0), get, gather);
}

Source from_idx(const std::string& images, const std::string& labels, IdxOptions o) {
  Tensor x = read_idx(images);
  AXON_CHECK(x.dim() >= 1, "from_idx", "{}: expected a sample axis, got {}", images, describe(x));
  if (o.channels_last && x.dim() == 3) x = x.reshape({x.size(0), x.size(1), x.size(2), 1});
  if (o.scale) x = div(cast(x, DType::f32), 255.0);
  Tensor y;
  if (!labels.empty()) {
    y = read_idx(labels);
    AXON_CHECK(y.dim() == 1 && y.size(0) == x.size(0), "from_idx", "{} holds {} but {} holds {}: counts disagree",
               images, describe(x), labels, describe(y));
    y = cast(y, DType::i64);
  }
  return from_tensors(x, y);
}

Source from_npy(const std::string& x_path, const std::string& y_path) {
  Tensor x = read_npy(x_path);
  Tensor y = y_path.empty() ? Tensor() : read_npy(y_path);
  AXON_CHECK(x.dim() >= 1, "from_npy", "{}: expected a sample axis, got {}", x_path, describe(x));
  AXON_CHECK(!y.defined() || (y.dim() >= 1 && y.size(0) == x.size(0)), "from_npy",
             "{} holds {} but {} holds {}: row counts disagree", x_path, describe(x), y_path, describe(y));
  return from_tensors(x, y);
}

Source from_npz(const std::string& path, const std::string& x_key, const std::string& y_key) {
  auto arrays = read_npz(path);
  auto names = [&] {
    std::string s;
    for (auto& [k, v] : arrays) s += (s.empty() ? "" : ", ") + k;
    return s;
  };
  auto xi = arrays.find(x_key);
  AXON_CHECK(xi != arrays.end(), "from_npz", "{}: no array '{}' (it holds: {})", path, x_key, names());
  Tensor y;
  if (!y_key.empty()) {
    auto yi = arrays.find(y_key);
    AXON_CHECK(yi != arrays.end(), "from_npz", "{}: no array '{}' (it holds: {})", path, y_key, names());
    y = yi->second;
    AXON_CHECK(y.dim() >= 1 && xi->second.dim() >= 1 && y.size(0) == xi->second.size(0), "from_npz",
               "{}: '{}' {} and '{}' {} must have the same number of rows", path, x_key, describe(xi->second), y_key,
               describe(y));
  }
  return from_tensors(xi->second, y);
}

}  // namespace axon::data
