// Check 4's program: a data-parallel run on 2 ranks whose rank 1 is killed (SIGKILL) after 5 steps.
// Rank 0 must not hang: tests/dist/killed_rank.sh checks that the job ends non-zero, in bounded
// time, with a message naming rank 1.
#include <csignal>
#include <cstdio>

#include <axon/axon.hpp>
#include <axon/dist.hpp>

using namespace axon;
using namespace axon::training;

int main() {
  auto comm = dist::Communicator::world();
  if (comm.size() != 2) {
    std::fprintf(stderr, "killed_rank: run it on 2 ranks (mpiexec -np 2), not %d\n", comm.size());
    return 2;
  }
  Generator gen(1);
  Tensor x = randn({4096, 8}, gen), y = argmax(x.slice(1, 0, 3), 1);
  Model m = input("x", {-1, 8}) | dense(32, {.activation = "relu"}) | dense(3);
  Loop loop = trainer(m, {"categorical_cross_entropy", {.from_logits = true, .sparse = true}}, "adam",
                      {.log = 0, .data_parallel = comm});
  loop.handle(Event::iteration_completed, [&](LoopState& s) {
    if (comm.rank() == 1 && s.iteration == 5) {
      std::fprintf(stderr, "killed_rank: rank 1 kills itself after step 5\n");
      std::raise(SIGKILL);
    }
    return Action::continue_;
  });
  loop.run(sharded_dataset(x, y, comm.rank(), comm.size(), {.batch_size = 8}), {}, {.epochs = 1000});
  std::fprintf(stderr, "killed_rank: rank %d finished, but rank 1 should have died\n", comm.rank());
  return 3;
}
