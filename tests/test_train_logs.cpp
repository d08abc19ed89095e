// The metric logs: CSV rows (per epoch with validation metrics, or every N batches) and TensorBoard
// event files read back record by record (framing, masked CRC32C, Event fields).
#include <axon/model.hpp>
#include <axon/train.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "train_fixtures.hpp"

using namespace axon;
using namespace axon::training;
namespace fs = std::filesystem;

namespace {

Model regression() { return test::small_regression(2); }
Dataset rows(uint64_t seed) { return test::regression_rows(12, 2, 4, seed); }  // 3 batches of 4

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream ls(line);
    for (std::string c; std::getline(ls, c, ',');) cells.push_back(c);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    rows.push_back(cells);
  }
  return rows;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A minimal reader of the protocol-buffer fields the writer uses.
struct Reader {
  const std::string& b;
  size_t at = 0;
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      uint8_t c = uint8_t(b.at(at++));
      v |= uint64_t(c & 0x7f) << shift;
      if (!(c & 0x80)) return v;
    }
  }
  template <class T>
  T fixed() {
    T v;
    std::memcpy(&v, b.data() + at, sizeof(T));
    at += sizeof(T);
    return v;
  }
  std::string bytes() {
    size_t n = size_t(varint());
    std::string s = b.substr(at, n);
    at += n;
    return s;
  }
};

struct ScalarEvent {
  std::string tag;
  float value = 0;
  int64_t step = 0;
};

// Every scalar of an event file, checking each record's framing and CRCs; `version` gets the first
// event's file_version.
std::vector<ScalarEvent> read_events(const std::string& path, std::string* version) {
  std::string f = read_file(path);
  std::vector<ScalarEvent> out;
  size_t at = 0;
  int records = 0;
  while (at < f.size()) {
    REQUIRE(at + 12 <= f.size());
    uint64_t len;
    uint32_t len_crc, data_crc;
    std::memcpy(&len, f.data() + at, 8);
    std::memcpy(&len_crc, f.data() + at + 8, 4);
    CHECK(len_crc == masked_crc32c(f.data() + at, 8));
    REQUIRE(at + 12 + len + 4 <= f.size());
    std::string data = f.substr(at + 12, size_t(len));
    std::memcpy(&data_crc, f.data() + at + 12 + len, 4);
    CHECK(data_crc == masked_crc32c(data.data(), data.size()));
    at += 12 + size_t(len) + 4;
    Reader r{data};
    int64_t step = -1;
    bool wall = false;
    while (r.at < data.size()) {
      uint64_t key = r.varint();
      if (key == (1 << 3 | 1)) {
        wall = r.fixed<double>() > 1.5e9;  // a plausible Unix time
      } else if (key == (2 << 3 | 0)) {
        step = int64_t(r.varint());
      } else if (key == (3 << 3 | 2)) {
        *version = r.bytes();
      } else if (key == (5 << 3 | 2)) {
        std::string summary = r.bytes();
        Reader sr{summary};
        while (sr.at < summary.size()) {
          REQUIRE(sr.varint() == (1 << 3 | 2));
          std::string value = sr.bytes();
          Reader vr{value};
          ScalarEvent s{.step = step};
          while (vr.at < value.size()) {
            uint64_t k = vr.varint();
            if (k == (1 << 3 | 2)) s.tag = vr.bytes();
            else if (k == (2 << 3 | 5)) s.value = vr.fixed<float>();
            else FAIL("unexpected Value field key " << k);
          }
          out.push_back(s);
        }
      } else {
        FAIL("unexpected Event field key " << key);
      }
    }
    CHECK(wall);
    CHECK(step >= 0);
    ++records;
  }
  CHECK(records == int(out.size()) + 1);
  return out;
}

std::string only_file(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().string());
  REQUIRE(files.size() == 1);
  return files[0];
}

}  // namespace

TEST_CASE("crc32c and its masked form match known values", "[train][tensorboard]") {
  CHECK(crc32c("123456789", 9) == 0xE3069283u);  // the CRC-32C check value
  CHECK(crc32c("", 0) == 0u);
  std::string zeros(32, '\0');
  CHECK(crc32c(zeros.data(), zeros.size()) == 0x8A9136AAu);  // RFC 3720 B.4
  uint32_t c = crc32c("123456789", 9);
  CHECK(masked_crc32c("123456789", 9) == uint32_t(((c >> 15) | (c << 17)) + 0xa282ead8u));
}

TEST_CASE("csv_logger writes a row per epoch with validation metrics and the learning rate", "[train][csv]") {
  std::string dir = test::fresh_dir("logs_csv_epoch");
  Loop loop = trainer(regression(), "mean_squared_error", optim::sgd(0.05), {.log = 0});
  metric(loop, "mean_absolute_error");
  csv_logger(loop, {.path = dir + "/sub/log.csv"});
  validate(loop, regression(), rows(9));
  LoopState s = loop.run(rows(1), {}, {.epochs = 3});
  auto csv = read_csv(dir + "/sub/log.csv");
  REQUIRE(csv.size() == 4);
  CHECK(csv[0] == std::vector<std::string>{"epoch", "batch", "iteration", "seconds", "learning_rate", "loss",
                                           "mean_absolute_error", "validation_loss", "validation_mean_absolute_error"});
  for (int e = 0; e < 3; ++e) {
    INFO("epoch " << e);
    const auto& row = csv[size_t(e + 1)];
    REQUIRE(row.size() == 9);
    CHECK(row[0] == std::to_string(e + 1));
    CHECK(row[1] == "3");
    CHECK(row[2] == std::to_string(3 * (e + 1)));
    CHECK(std::stod(row[3]) == Catch::Approx(s.epoch_seconds.at(e)));
    CHECK(std::stod(row[4]) == Catch::Approx(0.05));
    auto m = metric_values(s.epoch_metrics.at(e));
    CHECK(std::stod(row[5]) == m.at("loss"));  // shortest exact form: the same double back
    CHECK(std::stod(row[6]) == m.at("mean_absolute_error"));
    CHECK(std::stod(row[7]) == m.at("validation_loss"));
    CHECK(std::stod(row[8]) == m.at("validation_mean_absolute_error"));
  }
  // Training lowers the loss on this linear problem.
  CHECK(std::stod(csv[3][5]) < std::stod(csv[1][5]));

  // A resumed run appends without a second header.
  Loop more = trainer(regression(), "mean_squared_error", optim::sgd(0.05), {.log = 0});
  metric(more, "mean_absolute_error");
  csv_logger(more, {.path = dir + "/sub/log.csv", .append = true});
  validate(more, regression(), rows(9));
  more.from_state(s);
  more.run(rows(1), {}, {.epochs = 1});
  auto again = read_csv(dir + "/sub/log.csv");
  REQUIRE(again.size() == 5);
  CHECK(again[4][0] == "4");
  CHECK(again[4][2] == "12");
  fs::remove_all(dir);
}

TEST_CASE("csv_logger every N batches writes the running metrics", "[train][csv]") {
  std::string dir = test::fresh_dir("logs_csv_every");
  Loop loop = trainer(regression(), "mean_squared_error", optim::adam(0.01), {.log = 0});
  std::vector<double> running;
  loop.handle(Event::iteration_completed, [&](LoopState& s) {
    if ((s.iteration + 1) % 2 == 0) running.push_back(metric_values(s.metrics).at("loss"));
    return Action::continue_;
  });
  csv_logger(loop, {.path = dir + "/it.csv", .every = 2});
  loop.run(rows(1), {}, {.epochs = 2});
  auto csv = read_csv(dir + "/it.csv");
  // 6 batches: rows after the 2nd, 4th and 6th, i.e. epoch 1 batch 2, epoch 2 batch 1, epoch 2 batch 3.
  REQUIRE(csv.size() == 4);
  CHECK(csv[0][4] == "learning_rate");
  CHECK(csv[0][5] == "loss");
  CHECK((csv[1][0] == "1" && csv[1][1] == "2" && csv[1][2] == "2"));
  CHECK((csv[2][0] == "2" && csv[2][1] == "1" && csv[2][2] == "4"));
  CHECK((csv[3][0] == "2" && csv[3][1] == "3" && csv[3][2] == "6"));
  REQUIRE(running.size() == 3);
  for (size_t i = 0; i < 3; ++i) CHECK(std::stod(csv[i + 1][5]) == running[i]);
  AXON_REQUIRE_THROWS_WITH(csv_logger(loop, {.every = -1}), "every must be non-negative");
  fs::remove_all(dir);
}

TEST_CASE("tensorboard writes framed, checksummed scalar events of each epoch", "[train][tensorboard]") {
  std::string dir = test::fresh_dir("logs_tb");
  Loop loop = trainer(regression(), "mean_squared_error", optim::sgd(0.05), {.log = 0});
  validate(loop, regression(), rows(9));
  tensorboard(loop, {.logdir = dir});
  LoopState s = loop.run(rows(1), {}, {.epochs = 2});
  std::string version;
  auto scalars = read_events(only_file(dir), &version);
  CHECK(version == "brain.Event:2");
  CHECK(fs::path(only_file(dir)).filename().string().rfind("events.out.tfevents.", 0) == 0);
  // Per epoch: loss, validation_loss, learning_rate, at steps 1 and 2.
  REQUIRE(scalars.size() == 6);
  for (int e = 0; e < 2; ++e) {
    auto m = metric_values(s.epoch_metrics.at(e));
    const ScalarEvent* at = &scalars[size_t(3 * e)];
    CHECK(at[0].tag == "loss");
    CHECK(at[1].tag == "validation_loss");
    CHECK(at[2].tag == "learning_rate");
    for (int k = 0; k < 3; ++k) CHECK(at[k].step == e + 1);
    CHECK(at[0].value == float(m.at("loss")));
    CHECK(at[1].value == float(m.at("validation_loss")));
    CHECK(at[2].value == Catch::Approx(0.05f));
  }

  // Every N batches: the step is the batch count of the whole run.
  std::string dir2 = test::fresh_dir("logs_tb_every");
  Loop it = trainer(regression(), "mean_squared_error", optim::sgd(0.05), {.log = 0});
  tensorboard(it, {.logdir = dir2, .every = 3});
  it.run(rows(1), {}, {.epochs = 2});
  auto per_batch = read_events(only_file(dir2), &version);
  REQUIRE(per_batch.size() == 4);  // loss and learning_rate after batches 3 and 6
  CHECK(per_batch[0].step == 3);
  CHECK(per_batch[3].step == 6);
  fs::remove_all(dir);
  fs::remove_all(dir2);
}
