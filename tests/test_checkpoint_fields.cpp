// A loop checkpoint's counters are validated on load, and a resumed run cannot overflow its epoch
// counter: a crafted or damaged file is an error naming the file and the field, never a run that
// silently does nothing (issue 16, item 5).
#include <axon/io.hpp>
#include <axon/train/checkpoint.hpp>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <unistd.h>

#include "harness.hpp"

using namespace axon;
using namespace axon::training;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// A valid checkpoint of a run that finished epoch 1 of 3 after 2 batches per epoch.
LoopState finished_epoch_one() {
  LoopState s;
  s.epoch = 1;
  s.max_epoch = 3;
  s.iteration = 4;
  s.epoch_iteration = 2;
  s.event = Event::epoch_completed;
  s.event_counts[Event::iteration_completed] = {4, 2};
  s.epoch_seconds[1] = 0.5;
  s.step_state["value"] = scalar_tensor(1.0, DType::f64);
  return s;
}

// Writes finished_epoch_one() to `path` with one metadata field replaced.
void write_with(const std::string& path, const std::string& key, const std::string& value) {
  save_state(path, finished_epoch_one());
  Metadata md;
  TensorMap t = load_safetensors(path, Device::cpu(), &md);
  md[key] = value;
  save_safetensors(path, t, md);
}

// A step that only counts its calls.
Loop counting_loop(int* calls) {
  return Loop([calls](const Batch&, const StepState& s) { return ++*calls, s; });
}

Dataset two_batches() {
  return from_batches({{scalar_tensor(1.0, DType::f64), Tensor()}, {scalar_tensor(2.0, DType::f64), Tensor()}});
}

}  // namespace

TEST_CASE("a valid checkpoint still loads and resumes", "[train][checkpoint]") {
  std::string path = test::temp_path("valid.safetensors");
  save_state(path, finished_epoch_one());
  LoopState s = load_state(path);
  CHECK(s.epoch == 2);  // the resume point after epoch 1 completed
  CHECK(s.iteration == 4);
  CHECK(s.epoch_iteration == 0);
  int calls = 0;
  LoopState r = counting_loop(&calls).from_state(s).run(two_batches(), {}, {.epochs = 1});
  CHECK(calls == 2);
  CHECK(r.epoch == 3);
  std::filesystem::remove(path);
}

TEST_CASE("checkpoint counters out of range are errors naming the file and field", "[train][checkpoint][errors]") {
  struct Bad {
    const char* key;
    std::string value;
    const char* message;
  };
  const std::vector<Bad> cases = {
      {"epoch", std::to_string(kMax), "epoch is 9223372036854775807, outside [0, 2^53]"},
      {"epoch", "-1", "epoch is -1, outside [0, 2^53]"},
      {"max_epoch", "-5", "max_epoch is -5"},
      {"iteration", std::to_string(kMax), "iteration is 9223372036854775807"},
      {"iteration", "-3", "iteration is -3"},
      {"epoch_iteration", "-1", "epoch_iteration is -1"},
      {"max_iteration", "-2", "max_iteration is -2, outside [-1, 2^53]"},
      {"epoch_iteration", "9", "epoch_iteration 9 exceeds iteration 4"},
      {"event_counts/iteration_completed", "2,4", "event_counts/iteration_completed counts 4 this epoch but 2"},
      {"event_counts/iteration_completed", "-1,0", "event_counts/iteration_completed (total) is -1"},
      {"epoch_seconds/7", "1", "epoch_seconds/7 is not an epoch up to epoch 2"},
      {"epoch_seconds/1", "nan", "epoch_seconds/1 is nan, not a duration"},
  };
  std::string path = test::temp_path("bad.safetensors");
  for (const Bad& c : cases) {
    INFO(c.key << " = " << c.value);
    write_with(path, c.key, c.value);
    AXON_REQUIRE_THROWS_WITH(load_state(path), "load_state: " + path + ": ");
    AXON_REQUIRE_THROWS_WITH(load_state(path), c.message);
  }
  std::filesystem::remove(path);
}

TEST_CASE("a resumed run whose epoch plus the requested epochs overflows is an error", "[train][checkpoint][errors]") {
  int calls = 0;
  LoopState s;
  s.epoch = kMax - 1;
  AXON_REQUIRE_THROWS_WITH(counting_loop(&calls).from_state(s).run(two_batches(), {}, {.epochs = 5}),
                           "run: the attached state's epoch 9223372036854775806 plus 5 epochs overflows int64");
  s.epoch = -4;
  AXON_REQUIRE_THROWS_WITH(counting_loop(&calls).from_state(s).run(two_batches(), {}, {.epochs = 1}),
                           "run: the attached state's epoch is negative (-4)");
  AXON_REQUIRE_THROWS_WITH(counting_loop(&calls).run(two_batches(), {}, {.epochs = 1, .iterations = -7}),
                           "run: iterations must be -1 (all batches) or non-negative, got -7");
  CHECK(calls == 0);
}
