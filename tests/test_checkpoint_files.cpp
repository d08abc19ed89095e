// Checkpoint file names (the epoch and batch they hold, counted from 1 as the progress report),
// latest_checkpoint and keep_last.
#include <axon/model.hpp>
#include <axon/train.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "train_fixtures.hpp"

using namespace axon;
using namespace axon::training;
namespace fs = std::filesystem;

namespace {

std::set<std::string> files_in(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

Dataset rows() { return test::regression_rows(12, 2, 4, 3); }
Loop quiet() { return trainer(test::small_regression(2), "mean_squared_error", optim::sgd(0.1), {.log = 0}); }

}  // namespace

TEST_CASE("checkpoint names say the epoch (and batch) they hold, counted from 1", "[train][checkpoint]") {
  std::string dir = test::fresh_dir("ckpt_names");
  Loop loop = quiet();
  checkpoint(loop, {.path = dir});
  checkpoint(loop, {.event = Event::iteration_completed, .filter = {.every = 2}, .path = dir});
  loop.run(rows(), {}, {.epochs = 2});
  // Batches 1 and 3 (of 3) of epoch 1, batch 2 of epoch 2 (the 5th overall); both epoch ends.
  CHECK(files_in(dir) == std::set<std::string>{"checkpoint_epoch_1.safetensors", "checkpoint_epoch_2.safetensors",
                                               "checkpoint_epoch_1_batch_1.safetensors",
                                               "checkpoint_epoch_1_batch_3.safetensors",
                                               "checkpoint_epoch_2_batch_2.safetensors"});
  LoopState one = load_state(dir + "/checkpoint_epoch_1.safetensors");
  CHECK(one.epoch == 1);  // resumes at the second epoch (LoopState counts from 0)
  CHECK(one.epoch_iteration == 0);
  LoopState mid = load_state(dir + "/checkpoint_epoch_2_batch_2.safetensors");
  CHECK(mid.epoch == 1);
  CHECK(mid.epoch_iteration == 2);
  CHECK(mid.iteration == 5);

  // The newest: the end of epoch 2 (after epoch 2's batch 2, and after epoch 1's last batch).
  REQUIRE(latest_checkpoint(dir).has_value());
  CHECK(fs::path(*latest_checkpoint(dir)).filename() == "checkpoint_epoch_2.safetensors");
  fs::remove(dir + "/checkpoint_epoch_2.safetensors");
  CHECK(fs::path(*latest_checkpoint(dir)).filename() == "checkpoint_epoch_2_batch_2.safetensors");
  fs::remove(dir + "/checkpoint_epoch_2_batch_2.safetensors");
  CHECK(fs::path(*latest_checkpoint(dir)).filename() == "checkpoint_epoch_1.safetensors");
  fs::remove(dir + "/checkpoint_epoch_1.safetensors");
  CHECK(fs::path(*latest_checkpoint(dir)).filename() == "checkpoint_epoch_1_batch_3.safetensors");
  fs::remove_all(dir);
  CHECK_FALSE(latest_checkpoint(dir).has_value());
}

TEST_CASE("latest_checkpoint orders by epoch and batch numerically and ignores other files", "[train][checkpoint]") {
  std::string dir = test::fresh_dir("ckpt_latest");
  fs::create_directories(dir);
  for (const char* name : {"checkpoint_epoch_9.safetensors", "checkpoint_epoch_10_batch_7.safetensors",
                           "checkpoint_epoch_99.safetensors.tmp", "notes.txt", "checkpoint_epoch_x.safetensors"})
    std::ofstream(dir + "/" + name) << "x";
  CHECK(fs::path(*latest_checkpoint(dir)).filename() == "checkpoint_epoch_10_batch_7.safetensors");
  std::ofstream(dir + "/checkpoint_epoch_10.safetensors") << "x";
  CHECK(fs::path(*latest_checkpoint(dir)).filename() == "checkpoint_epoch_10.safetensors");
  fs::remove_all(dir);
}

TEST_CASE("keep_last keeps the newest k checkpoints, and a resumed run continues from the latest", "[train][checkpoint]") {
  std::string dir = test::fresh_dir("ckpt_keep");
  Loop first = quiet();
  checkpoint(first, {.path = dir, .keep_last = 2});
  LoopState a = first.run(rows(), {}, {.epochs = 3});
  CHECK(files_in(dir) == std::set<std::string>{"checkpoint_epoch_2.safetensors", "checkpoint_epoch_3.safetensors"});

  Loop second = quiet();
  checkpoint(second, {.path = dir, .keep_last = 2});
  second.from_state(load_state(*latest_checkpoint(dir)));
  LoopState b = second.run(rows(), {}, {.epochs = 2});
  CHECK(b.epoch == 5);
  CHECK(files_in(dir) == std::set<std::string>{"checkpoint_epoch_4.safetensors", "checkpoint_epoch_5.safetensors"});

  // With a file pattern, the files this handler wrote count.
  std::string dir2 = test::fresh_dir("ckpt_keep_pattern");
  Loop third = quiet();
  checkpoint(third, {.path = dir2,
                     .file_pattern = [](const LoopState& s) { return "run_" + std::to_string(s.epoch) + ".st"; },
                     .keep_last = 1});
  third.run(rows(), {}, {.epochs = 3});
  CHECK(files_in(dir2) == std::set<std::string>{"run_2.st"});

  AXON_REQUIRE_THROWS_WITH(checkpoint(third, {.keep_last = -1}), "keep_last must be non-negative");
  fs::remove_all(dir);
  fs::remove_all(dir2);
}
