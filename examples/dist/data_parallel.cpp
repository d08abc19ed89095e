// Data-parallel training over MPI ranks (README "Distributed training"): `mpiexec -np 2
// example_data_parallel`. The collectives, then a small classifier trained on two ranks, each on its
// shard of every global batch; rank 0 writes the checkpoints. Exits non-zero below 75% accuracy.
#include <cstdio>
#include <filesystem>

#include <axon/axon.hpp>
#include <axon/dist.hpp>

using namespace axon;

int main() {
  Generator gen(1);
  Tensor x = randn({2048, 8}, gen), y = argmax(x.slice(1, 0, 3), 1);
  Tensor val_x = randn({512, 8}, gen), val_y = argmax(val_x.slice(1, 0, 3), 1);
  Model model = input("x", {-1, 8}) | dense(32, {.activation = "relu"}) | dense(3);
  const std::string ckpt = (std::filesystem::temp_directory_path() / "axon_example_data_parallel").string();

  // snippet-begin: dist
  auto comm = dist::Communicator::world();  // initialises (and at exit finalises) MPI unless the program did
  Tensor t = full({4}, double(comm.rank() + 1));
  Tensor mean = comm.all_reduce(t, dist::ReduceOp::mean);  // sum, mean, max; broadcast, all_gather, reduce_scatter
  dist::Work work = comm.iall_reduce(t);                  // non-blocking: wait() gives the result
  Tensor sum = work.wait();
  Loop loop = trainer(model, {"categorical_cross_entropy", {.from_logits = true, .sparse = true}}, "adam",
                      {.log = 0, .data_parallel = comm});  // or train_step(..., {.data_parallel = comm})
  training::metric(loop, "accuracy", {.sparse = true, .from_logits = true});
  training::validate(loop, model, training::tensor_dataset(val_x, val_y));  // every rank: the same metrics
  if (comm.rank() == 0) training::checkpoint(loop, {.path = ckpt, .keep_last = 1});  // rank 0 only
  LoopState s = loop.run(training::sharded_dataset(x, y, comm.rank(), comm.size(), {.batch_size = 64, .shuffle = true}),
                         {}, {.epochs = 20});
  // snippet-end: dist

  const double acc = s.epoch_metrics.rbegin()->second.at("validation_accuracy").item<double>();
  const double n = comm.size();
  const bool ok = mean.to_vector<float>()[0] == float((n + 1) / 2) && sum.to_vector<float>()[0] == float(n * (n + 1) / 2) &&
                  acc >= 0.75;
  std::printf("rank %d of %d: mean %g, sum %g, validation accuracy %.4f%s\n", comm.rank(), comm.size(),
              mean.to_vector<float>()[0], sum.to_vector<float>()[0], acc, ok ? "" : "  FAILED");
  return ok ? 0 : 1;
}
