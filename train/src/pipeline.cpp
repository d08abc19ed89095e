#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <axon/data/pipeline.hpp>
#include <axon/ops.hpp>

#include "image_ops.hpp"
#include "splitmix.hpp"

namespace axon::data {

struct Pipeline::Config {
  Source source;
  std::vector<MapFn> maps;
  bool shuffle = false;
  uint64_t seed = 0;
  int64_t batch_size = 1;
  bool drop_last = false;
  int64_t prefetch = 0;
  int threads = 1;
  Device device = Device::cpu();
};

namespace {

int64_t batches_per_epoch(const Pipeline::Config& c) {
  const int64_t n = c.source.size();
  return c.drop_last ? n / c.batch_size : (n + c.batch_size - 1) / c.batch_size;
}

uint64_t sample_key(uint64_t seed, int64_t epoch, int64_t sample) {
  using detail::mix64;
  return mix64(mix64(mix64(seed + detail::kGoldenGamma) ^ uint64_t(epoch)) ^ uint64_t(sample));
}

// Workers, the batches they are building keyed by (epoch, index), and the cached sample order of the
// epochs in flight. Destroyed (threads joined) with the last Dataset copy.
class Prefetcher {
 public:
  using Key = std::pair<int64_t, int64_t>;

  explicit Prefetcher(std::shared_ptr<const Pipeline::Config> c) : c_(std::move(c)) {
    n_ = c_->source.size();
    per_epoch_ = batches_per_epoch(*c_);
    for (int t = 0; t < (c_->prefetch > 0 ? c_->threads : 0); ++t) workers_.emplace_back([this] { work(); });
  }
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  int64_t num_batches() const { return per_epoch_; }

  training::Batch get(int64_t epoch, int64_t index) {
    AXON_CHECK(index >= 0 && index < per_epoch_ && epoch >= 0, "Pipeline",
               "batch {} of epoch {} requested; an epoch has {} batches", index, epoch, per_epoch_);
    training::Batch host;
    if (c_->prefetch <= 0) {
      host = assemble(epoch, index);
    } else {
      std::shared_future<training::Batch> f;
      int added = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        // Forget batches behind this one (a restart or a jump), then queue this one and the next ones.
        for (auto it = pending_.begin(); it != pending_.end();)
          it = it->first < Key{epoch, index} ? pending_.erase(it) : std::next(it);
        Key k{epoch, index};
        for (int64_t ahead = 0; ahead <= c_->prefetch; ++ahead) {
          added += schedule_locked(k);
          k = k.second + 1 < per_epoch_ ? Key{k.first, k.second + 1} : Key{k.first + 1, 0};
        }
        f = pending_.at({epoch, index});
        pending_.erase({epoch, index});
      }
      // One worker per new batch: waking them all would take the step's core for nothing.
      for (int i = 0; i < added; ++i) cv_.notify_one();
      host = f.get();
    }
    if (c_->device.is_cpu()) return host;
    // Issued here, on the thread that runs the steps: from pinned memory it does not wait for the device.
    return training::Batch{host.x.to(c_->device, true), host.y.defined() ? host.y.to(c_->device, true) : Tensor()};
  }

 private:
  bool schedule_locked(Key k) {
    if (pending_.count(k)) return false;
    auto task = std::make_shared<std::packaged_task<training::Batch()>>([this, k] { return assemble(k.first, k.second); });
    pending_.emplace(k, task->get_future().share());
    queue_.push_back(std::move(task));
    return true;
  }

  void work() {
    while (true) {
      std::shared_ptr<std::packaged_task<training::Batch()>> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      (*task)();  // an exception is stored in the future and rethrown by get()
    }
  }

  std::shared_ptr<const std::vector<int64_t>> order(int64_t epoch) {
    std::lock_guard<std::mutex> lock(order_mu_);
    auto it = orders_.find(epoch);
    if (it != orders_.end()) return it->second;
    std::vector<int64_t> o;
    if (c_->shuffle) {
      o = training::permutation(n_, c_->seed, epoch);
    } else {
      o.resize(size_t(n_));
      for (int64_t i = 0; i < n_; ++i) o[size_t(i)] = i;
    }
    while (orders_.size() >= 3) orders_.erase(orders_.begin());  // the epochs in flight
    return orders_[epoch] = std::make_shared<const std::vector<int64_t>>(std::move(o));
  }

  // Batch (epoch, index) on the CPU, in pinned memory when it is going to a GPU.
  training::Batch assemble(int64_t epoch, int64_t index) {
    training::Batch b = assemble_host(epoch, index);
    if (c_->device.is_cuda()) {
      b.x = b.x.pin_memory();
      if (b.y.defined()) b.y = b.y.pin_memory();
    }
    return b;
  }

  training::Batch assemble_host(int64_t epoch, int64_t index) {
    auto ord = order(epoch);
    const int64_t start = index * c_->batch_size, end = std::min(n_, start + c_->batch_size);
    std::vector<int64_t> idx(ord->begin() + start, ord->begin() + end);
    if (c_->maps.empty() && c_->source.can_gather()) return c_->source.gather(idx);
    std::vector<uint64_t> keys;
    keys.reserve(idx.size());
    for (int64_t s : idx) keys.push_back(sample_key(c_->seed, epoch, s));
    if (auto b = images::assemble_images(c_->source, c_->maps, idx, keys)) return std::move(*b);
    // Any other transform: tensors, one sample at a time.
    std::vector<Tensor> xs, ys;
    xs.reserve(idx.size());
    for (int64_t s : idx) {
      Example e = c_->source.get(s);
      SampleRng rng(keys[xs.size()]);
      for (const MapFn& f : c_->maps) e = f(std::move(e), rng);
      AXON_CHECK(e.x.defined(), "Pipeline", "a transform returned an undefined sample (sample {})", s);
      AXON_CHECK(xs.empty() || e.y.defined() == !ys.empty(), "Pipeline",
                 "sample {} {} a target where the batch's first sample {}", s, e.y.defined() ? "has" : "lacks",
                 ys.empty() ? "has none" : "has one");
      AXON_CHECK(xs.empty() || (e.x.shape() == xs[0].shape() && e.x.dtype() == xs[0].dtype()), "Pipeline",
                 "sample {} is {} but the batch's first sample is {}: transforms must give one shape", s,
                 describe(e.x), describe(xs[0]));
      xs.push_back(e.x.to(Device::cpu()));
      if (e.y.defined()) ys.push_back(e.y.to(Device::cpu()));
    }
    return training::Batch{stack(xs, 0), ys.empty() ? Tensor() : stack(ys, 0)};
  }

  std::shared_ptr<const Pipeline::Config> c_;
  int64_t n_ = 0, per_epoch_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::deque<std::shared_ptr<std::packaged_task<training::Batch()>>> queue_;
  std::map<Key, std::shared_future<training::Batch>> pending_;
  std::mutex order_mu_;
  std::map<int64_t, std::shared_ptr<const std::vector<int64_t>>> orders_;
  std::vector<std::thread> workers_;
};

}  // namespace

Pipeline::Pipeline(Source source) {
  auto c = std::make_shared<Config>();
  c->source = std::move(source);
  config_ = std::move(c);
}

namespace {
template <class F>
std::shared_ptr<const Pipeline::Config> with(const std::shared_ptr<const Pipeline::Config>& c, F&& edit) {
  auto copy = std::make_shared<Pipeline::Config>(*c);
  edit(*copy);
  return copy;
}
}  // namespace

Pipeline Pipeline::map(MapFn fn) const {
  AXON_CHECK(static_cast<bool>(fn), "Pipeline::map", "the transform is empty");
  return Pipeline(with(config_, [&](Config& c) { c.maps.push_back(std::move(fn)); }));
}
Pipeline Pipeline::shuffle(uint64_t seed) const {
  return Pipeline(with(config_, [&](Config& c) { c.shuffle = true, c.seed = seed; }));
}
Pipeline Pipeline::batch(int64_t batch_size, bool drop_last) const {
  AXON_CHECK(batch_size > 0, "Pipeline::batch", "batch_size {} must be > 0", batch_size);
  return Pipeline(with(config_, [&](Config& c) { c.batch_size = batch_size, c.drop_last = drop_last; }));
}
Pipeline Pipeline::prefetch(int64_t batches, int threads) const {
  AXON_CHECK(batches >= 0 && batches <= 1024 && threads >= 1 && threads <= 256, "Pipeline::prefetch",
             "batches {} must be in [0, 1024] and threads {} in [1, 256]", batches, threads);
  return Pipeline(with(config_, [&](Config& c) { c.prefetch = batches, c.threads = threads; }));
}
Pipeline Pipeline::to(Device device) const {
  return Pipeline(with(config_, [&](Config& c) { c.device = device; }));
}
int64_t Pipeline::num_batches() const { return batches_per_epoch(*config_); }

training::Dataset Pipeline::dataset() const {
  auto p = std::make_shared<Prefetcher>(config_);
  return training::Dataset(p->num_batches(), [p](int64_t epoch, int64_t index) { return p->get(epoch, index); });
}

}  // namespace axon::data
