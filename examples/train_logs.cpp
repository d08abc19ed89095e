// Training with the progress report, a CSV log and TensorBoard event files, and checkpoints kept to
// the last two: what .ci/tensorboard reads back (tensorboard's EventAccumulator) and plots
// (tools/plot_logs.py). Usage: example_train_logs [output dir, default train_logs]
#include <axon/axon.hpp>
#include <axon/train.hpp>

#include <iostream>

using namespace axon;
using namespace axon::training;

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "train_logs";
  // Three classes of 8-dimensional points around three centres.
  Generator gen(1);
  Tensor centres = randn({3, 8}, gen);
  Tensor y = randint(0, 3, {2048}, gen);
  Tensor x = add(take(centres, y, 0), mul(randn({2048, 8}, gen), 0.8));
  Tensor xv = x.slice(0, 0, 512), yv = y.slice(0, 0, 512);

  Model model = input("input", {-1, 8}) | dense(32, {.activation = "relu"}) | dense(3);
  Loop loop = trainer(model, {"categorical_cross_entropy", {.from_logits = true, .sparse = true}}, optim::sgd(0.05));
  metric(loop, "accuracy", {.sparse = true, .from_logits = true});
  validate(loop, model, tensor_dataset(xv, yv, {.batch_size = 256}));
  // snippet-begin: logs
  csv_logger(loop, {.path = dir + "/log.csv"});  // epoch,batch,iteration,seconds,learning_rate,<metrics>
  tensorboard(loop, {.logdir = dir + "/tb"});    // scalars: every metric and learning_rate
  checkpoint(loop, {.path = dir + "/checkpoints", .keep_last = 2});
  // snippet-end: logs
  LoopState s = loop.run(tensor_dataset(x, y, {.batch_size = 64, .shuffle = true}), {}, {.epochs = 6});
  std::cout << "latest checkpoint: " << latest_checkpoint(dir + "/checkpoints").value_or("none") << "\n";
  // A second loop resumes from the newest checkpoint (as a second process would): one more epoch.
  Loop again = trainer(model, {"categorical_cross_entropy", {.from_logits = true, .sparse = true}}, optim::sgd(0.05),
                       {.log = 0});
  // snippet-begin: resume
  if (auto file = latest_checkpoint(dir + "/checkpoints")) again.from_state(load_state(*file));
  // snippet-end: resume
  // `epochs` counts from where the state left off: one more.
  LoopState r = again.run(tensor_dataset(x, y, {.batch_size = 64, .shuffle = true}), {}, {.epochs = 1});
  std::cout << "resumed after epoch " << s.epoch << ", one more epoch: now " << r.epoch << " epochs\n";
  return s.status == Status::completed && r.status == Status::completed ? 0 : 1;
}
