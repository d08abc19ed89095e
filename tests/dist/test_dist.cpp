// axon::dist under mpirun (ctest runs it on 1 and on 2 ranks: tests/CMakeLists.txt). Every test
// case runs on every rank, in the same order, so their collectives match.
#include <chrono>
#include <cstring>
#include <filesystem>

#include <unistd.h>
#include <thread>

#include <axon/dist.hpp>

#include "harness.hpp"

using namespace axon;
using namespace axon::training;
using dist::Communicator;
using dist::ReduceOp;

namespace {

const Communicator& world() {
  static Communicator c = Communicator::world();
  return c;
}

Model mlp() { return input("x", {-1, 6}) | dense(16, {.activation = "relu"}) | dropout({.rate = 0.2}) | dense(3); }

struct Data {
  Tensor x, y;
};
Data make_data(int64_t n) {
  Generator gen(7);  // the same data on every rank
  Tensor x = randn({n, 6}, gen);
  Tensor y = argmax(matmul(x, randn({6, 3}, gen)), 1);
  return {x, y};
}

Tensor sparse_ce(const Tensor& y, const Tensor& logits) {
  return losses::categorical_cross_entropy(y, logits, {.from_logits = true, .sparse = true, .reduction = losses::Reduction::mean});
}

// All parameters as one flat f64 vector, in name order.
std::vector<double> flat(const Params& p) {
  std::vector<double> out;
  for (const auto& [l, m] : p)
    for (const auto& [n, t] : m)
      for (double v : cast(t, DType::f64).contiguous().to_vector<double>()) out.push_back(v);
  return out;
}

// Whether every rank holds bitwise the same values: rank 0's, broadcast, compared here, and the
// verdicts combined (max of "differs").
bool same_on_every_rank(const Tensor& t) {
  const Tensor root = world().broadcast(t, 0);
  const bool mine = std::memcmp(root.data_ptr(), t.contiguous().data_ptr(), t.nbytes()) == 0;
  return world().all_reduce(scalar_tensor(mine ? 0 : 1, DType::i32), ReduceOp::max).item<int32_t>() == 0;
}

}  // namespace

TEST_CASE("rank, size and local rank", "[dist]") {
  const Communicator& c = world();
  CHECK(c.size() >= 1);
  CHECK(c.rank() >= 0);
  CHECK(c.rank() < c.size());
  CHECK(c.local_rank() < c.local_size());
  CHECK(c.local_size() <= c.size());
  CHECK(std::string(Communicator::backend(Device::cpu())) == "MPI");
}

TEST_CASE("all_reduce sum, mean and max; broadcast; all_gather; reduce_scatter; barrier", "[dist]") {
  const Communicator& c = world();
  const int r = c.rank(), n = c.size();
  const Tensor mine = from_vector(std::vector<float>{float(r + 1), float(10 * r), -float(r)}, {3});
  const double s1 = n * (n + 1) / 2.0, s10 = 10.0 * n * (n - 1) / 2.0, sm = -n * (n - 1) / 2.0;
  test::check_close(c.all_reduce(mine), {s1, s10, sm}, {3}, {0, 0});
  test::check_close(c.all_reduce(mine, ReduceOp::mean), {s1 / n, s10 / n, sm / n}, {3}, {1e-6, 0});
  test::check_close(c.all_reduce(mine, ReduceOp::max), {double(n), 10.0 * (n - 1), 0.0}, {3}, {0, 0});
  CHECK(c.all_reduce(scalar_tensor(int64_t(r), DType::i64)).item<int64_t>() == int64_t(n) * (n - 1) / 2);
  CHECK(c.all_reduce(from_vector(std::vector<double>{0.5 * r}, {1}), ReduceOp::sum).dtype() == DType::f64);
  // The input is not modified.
  test::check_close(mine, {double(r + 1), 10.0 * r, -double(r)}, {3}, {0, 0});

  const Tensor b = c.broadcast(from_vector(std::vector<float>{float(r), 2, 3, 4, 5, float(r)}, {2, 3}), 0);
  test::check_close(b, {0, 2, 3, 4, 5, 0}, {2, 3}, {0, 0});
  if (n > 1) test::check_close(c.broadcast(scalar_tensor(r, DType::i32), n - 1), {double(n - 1)}, {}, {0, 0});

  const Tensor g = c.all_gather(from_vector(std::vector<float>{float(r), float(r) + 0.5f}, {1, 2}));
  std::vector<double> want;
  for (int k = 0; k < n; ++k) want.insert(want.end(), {double(k), k + 0.5});
  test::check_close(g, want, {n, 2}, {0, 0});
  CHECK(c.all_gather(scalar_tensor(r, DType::i64)).shape() == Shape{n});

  // Rows k·2 .. k·2+1 of rank r hold r + k: rank k gets its two rows summed over every rank.
  std::vector<float> rows;
  for (int k = 0; k < n; ++k) rows.insert(rows.end(), {float(r + k), float(r + k)});
  const Tensor rs = c.reduce_scatter(from_vector(rows, {2 * n, 1}));
  test::check_close(rs, {s1 - n + n * double(r), s1 - n + n * double(r)}, {2, 1}, {0, 0});
  c.barrier();
}

TEST_CASE("non-blocking collectives return handles to wait on", "[dist]") {
  const Communicator& c = world();
  const int n = c.size();
  std::vector<dist::Work> works;
  for (int i = 0; i < 4; ++i) works.push_back(c.iall_reduce(full({1000}, i, DType::f32)));
  dist::Work gather = c.iall_gather(scalar_tensor(c.rank(), DType::i32));
  dist::Work bar = c.ibarrier();
  for (int i = 3; i >= 0; --i) {  // waited in any order
    const Tensor t = works[size_t(i)].wait();
    CHECK(t.min().item<float>() == float(i * n));
    CHECK(t.max().item<float>() == float(i * n));
    CHECK(works[size_t(i)].test());
  }
  CHECK(gather.wait().shape() == Shape{n});
  bar.wait();
  CHECK(c.ibroadcast(scalar_tensor(5, DType::i64)).wait().item<int64_t>() == 5);
  CHECK(c.ireduce_scatter(ones({n}), ReduceOp::mean).wait().item<float>() == 1.0f);
}

TEST_CASE("collective errors name the op, the rank and the backend", "[dist]") {
  const Communicator& c = world();
  const std::string who = fmt::format("rank {} of {}", c.rank(), c.size());
  AXON_REQUIRE_THROWS_WITH(c.all_reduce(ones({2}, DType::i32), ReduceOp::mean),
                           "dist.all_reduce: " + who + " (MPI): mean needs a floating tensor");
  AXON_REQUIRE_THROWS_WITH(c.all_reduce(ones({2}, DType::bf16)), "MPI cannot reduce bf16");
  AXON_REQUIRE_THROWS_WITH(c.reduce_scatter(scalar_tensor(1.0f)), "dist.reduce_scatter: " + who);
  if (c.size() > 1) AXON_REQUIRE_THROWS_WITH(c.reduce_scatter(ones({c.size() + 1})), "axis 0 must split into");
  AXON_REQUIRE_THROWS_WITH(c.broadcast(Tensor()), "dist.broadcast: " + who + " (MPI): the tensor is undefined");
  // A rank that passes another shape (the same byte count) than the root is told which.
  if (c.size() > 1) {
    if (c.rank() == 0)
      c.broadcast(zeros({2, 3}));
    else
      AXON_REQUIRE_THROWS_WITH(c.broadcast(zeros({3, 2})), "rank 0 broadcast a tensor of dtype #0 and shape [2, 3]");
  }
#ifndef AXON_HAS_NCCL
  CHECK(!Communicator::nccl_available());
#endif
}

TEST_CASE("a collective a peer never joins fails after the timeout, naming op and rank", "[dist]") {
  const Communicator& c = world();
  if (c.size() < 2) AXON_SKIP("needs 2 ranks");
  const Communicator quick = Communicator::world({.timeout_seconds = 1});
  c.barrier();
  if (c.rank() == 0) {
    const auto t0 = std::chrono::steady_clock::now();
    AXON_REQUIRE_THROWS_WITH(quick.all_reduce(ones({4})), "dist.all_reduce: rank 0 of " + std::to_string(c.size()) +
                                                              " (MPI): not complete after 1 s (timeout");
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30));  // bounded, even on a loaded machine
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(4000));
    quick.all_reduce(ones({4}));  // late: completes rank 0's abandoned collective
  }
  c.barrier();
}

TEST_CASE("a caller-initialised MPI: its communicator is used (split into single ranks)", "[dist]") {
  // MPI is initialised by now (world()); a communicator of one rank each is the caller's.
  MPI_Comm mine;
  MPI_Comm_split(MPI_COMM_WORLD, world().rank(), 0, &mine);
  {
    Communicator solo = Communicator::from_mpi(mine);
    CHECK(solo.size() == 1);
    CHECK(solo.rank() == 0);
    CHECK(solo.all_reduce(scalar_tensor(3.0f)).item<float>() == 3.0f);
  }
  MPI_Comm_free(&mine);
}

TEST_CASE("one rank: the data-parallel step is exactly the plain step", "[dist]") {
  MPI_Comm mine;
  MPI_Comm_split(MPI_COMM_WORLD, world().rank(), 0, &mine);
  Communicator solo = Communicator::from_mpi(mine);
  const Data d = make_data(96);
  auto run = [&](training::DataParallel dp) {
    Loop loop = trainer(mlp(), sparse_ce, optim::adam(0.01), {.log = 0, .seed = 3, .data_parallel = dp});
    return flat(model_state(loop.run(tensor_dataset(d.x, d.y, {.batch_size = 16, .shuffle = true, .seed = 1}), {}, {.epochs = 2})));
  };
  CHECK(run(solo) == run({}));
  MPI_Comm_free(&mine);
}

TEST_CASE("check 1: after 20 steps the parameters are bitwise identical on every rank", "[dist]") {
  const Communicator& c = world();
  const Data d = make_data(20 * 8 * c.size());
  // Different initial parameters per rank (seed = rank): the broadcast from rank 0 must fix them.
  Loop loop = trainer(mlp(), sparse_ce, optim::adam(0.01), {.log = 0, .seed = uint64_t(c.rank()), .data_parallel = c});
  LoopState s = loop.run(sharded_dataset(d.x, d.y, c.rank(), c.size(), {.batch_size = 8, .shuffle = true, .seed = 2}));
  CHECK(s.iteration == 20);
  const std::vector<double> p = flat(model_state(s));
  CHECK(same_on_every_rank(from_vector(p, {int64_t(p.size())})));
  // The logged loss is averaged over the ranks: the same everywhere.
  CHECK(same_on_every_rank(s.epoch_metrics.at(0).at("loss")));
}

TEST_CASE("gradient buckets overlapped with the backward pass give the same parameters", "[dist]") {
  const Communicator& c = world();
  const Data d = make_data(10 * 8 * c.size());
  // Buckets of at most 256 bytes: the MLP's 4 tensors make several, started during the backward.
  auto run = [&](bool overlap) {
    const Communicator small = Communicator::world({.bucket_bytes = 256, .overlap = overlap});
    Loop loop = trainer(mlp(), sparse_ce, optim::adam(0.01), {.log = 0, .seed = 6, .data_parallel = small});
    return flat(model_state(loop.run(sharded_dataset(d.x, d.y, c.rank(), c.size(), {.batch_size = 8}))));
  };
  const std::vector<double> overlapped = run(true);
  CHECK(overlapped == run(false));
  CHECK(same_on_every_rank(from_vector(overlapped, {int64_t(overlapped.size())})));
}

TEST_CASE("check 2: ranks with batch b each equal one process with batch ranks*b", "[dist]") {
  const Communicator& c = world();
  const int64_t b = 8, steps = 6;
  const Data d = make_data(b * c.size() * steps);
  // No dropout: both runs must draw the same function.
  const Model m = input("x", {-1, 6}) | dense(16, {.activation = "tanh"}) | dense(3);
  auto run = [&](const Dataset& data, training::DataParallel dp) {
    Loop loop = trainer(m, sparse_ce, optim::sgd(0.1), {.log = 0, .seed = 4, .data_parallel = dp});
    return flat(model_state(loop.run(data, {}, {.epochs = 2})));
  };
  const auto distributed =
      run(sharded_dataset(d.x, d.y, c.rank(), c.size(), {.batch_size = b, .shuffle = true, .seed = 5}), c);
  const auto single = run(tensor_dataset(d.x, d.y, {.batch_size = b * c.size(), .shuffle = true, .seed = 5}), {});
  REQUIRE(distributed.size() == single.size());
  double worst = 0;
  for (size_t i = 0; i < single.size(); ++i) worst = std::max(worst, std::abs(distributed[i] - single[i]));
  INFO("largest difference " << worst);
  CHECK(worst <= 1e-6);
}

TEST_CASE("NCCL: collectives of CUDA tensors, and the data-parallel step on a GPU", "[dist][cuda]") {
  AXON_REQUIRE_CUDA();
  if (!Communicator::nccl_available()) {
    AXON_REQUIRE_THROWS_WITH(world().all_reduce(ones({2}, DType::f32, Device::cuda(0))), "built without NCCL");
    return;
  }
  // One rank per communicator (this machine may have one GPU for every rank of the job).
  MPI_Comm mine;
  MPI_Comm_split(MPI_COMM_WORLD, world().rank(), 0, &mine);
  {
    Communicator solo = Communicator::from_mpi(mine);
    const Device gpu = Device::cuda(0);
    CHECK(std::string(Communicator::backend(gpu)) == "NCCL");
    const Tensor t = from_vector(std::vector<float>{1, 2, 3, 4}, {4}, gpu);
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::mean, ReduceOp::max}) {
      const Tensor r = solo.all_reduce(t, op);
      CHECK(r.is_cuda());
      test::check_close(r.to(Device::cpu()), {1, 2, 3, 4}, {4}, {0, 0});
    }
    test::check_close(solo.broadcast(t).to(Device::cpu()), {1, 2, 3, 4}, {4}, {0, 0});
    test::check_close(solo.all_gather(t.reshape({2, 2})).to(Device::cpu()), {1, 2, 3, 4}, {2, 2}, {0, 0});
    test::check_close(solo.reduce_scatter(t).to(Device::cpu()), {1, 2, 3, 4}, {4}, {0, 0});
    CHECK(solo.iall_reduce(t.to(DType::bf16)).wait().dtype() == DType::bf16);
    const Data d = make_data(64);
    auto run = [&](training::DataParallel dp) {
      Loop loop = trainer(mlp(), sparse_ce, optim::adam(0.01), {.log = 0, .seed = 3, .data_parallel = dp});
      return flat(model_state(loop.run(tensor_dataset(d.x.to(gpu), d.y.to(gpu), {.batch_size = 16}))));
    };
    CHECK(run(solo) == run({}));
  }
  MPI_Comm_free(&mine);
}

TEST_CASE("checkpoints by rank 0; a resume on the same ranks continues exactly; early stopping alike", "[dist]") {
  const Communicator& c = world();
  namespace fs = std::filesystem;
  // One folder for the job: rank 0's process id.
  const int64_t id = c.broadcast(scalar_tensor(int64_t(::getpid()), DType::i64)).item<int64_t>();
  const fs::path dir = fs::temp_directory_path() / fmt::format("axon-dist-test-{}", id);
  const Data d = make_data(8 * 4 * c.size()), v = make_data(16 * c.size());
  auto build = [&] {
    Loop loop = trainer(mlp(), sparse_ce, optim::adam(0.01), {.log = 0, .seed = 1, .data_parallel = c});
    validate(loop, mlp(), sharded_dataset(v.x, v.y, c.rank(), c.size(), {.batch_size = 8}));
    average_metrics(loop, c);  // the validation data is sharded too: its metrics are averaged
    early_stop(loop, "validation_loss", {.patience = 1});
    if (c.rank() == 0) checkpoint(loop, {.path = dir.string()});
    return loop;
  };
  const Dataset train = sharded_dataset(d.x, d.y, c.rank(), c.size(), {.batch_size = 8, .shuffle = true, .seed = 3});
  const LoopState full = build().run(train, {}, {.epochs = 12});
  c.barrier();
  INFO("stopped after epoch " << full.epoch << ", status " << int(full.status));
  // Every rank stops at the same epoch, for the same reason, with the same values.
  const int64_t epochs = c.all_reduce(scalar_tensor(full.epoch, DType::i64), ReduceOp::max).item<int64_t>();
  CHECK(epochs == full.epoch);
  CHECK(c.all_reduce(scalar_tensor(int(full.status), DType::i32), ReduceOp::max).item<int32_t>() == int(full.status));
  const std::vector<double> p = flat(model_state(full));
  CHECK(same_on_every_rank(from_vector(p, {int64_t(p.size())})));
  CHECK(same_on_every_rank(full.epoch_metrics.at(0).at("validation_loss")));
  // One file per epoch, from rank 0 alone; not the epoch early stopping halted (it halts before
  // the checkpoint handler, attached after it, runs).
  REQUIRE(full.status == Status::halted);
  int64_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.path().extension() == ".safetensors";
  CHECK(files == int64_t(full.epoch_metrics.size()) - 1);
  // Resumed from the first epoch's checkpoint, every rank ends where the uninterrupted run did.
  Loop again = build();
  again.from_state(load_state((dir / "checkpoint_epoch_1.safetensors").string()));  // after epoch 1 (1-based)
  const LoopState resumed = again.run(train, {}, {.epochs = 11});
  CHECK(resumed.epoch == full.epoch);
  CHECK(flat(model_state(resumed)) == p);
  c.barrier();
  if (c.rank() == 0) fs::remove_all(dir);
}
