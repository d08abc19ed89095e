// sharded_dataset: the ranks' parts of every batch are disjoint and together are exactly one
// process's batch of ranks·batch_size rows, in the same order.
#include "harness.hpp"

using namespace axon;
using namespace axon::training;

namespace {
std::vector<int64_t> rows_of(const Batch& b) { return b.x.reshape({-1}).to_vector<int64_t>(); }
}  // namespace

TEST_CASE("sharded_dataset splits each global batch among the ranks", "[data][shard]") {
  const int64_t n = 50;
  const Tensor x = arange(n, DType::i64).reshape({n, 1}), y = arange(n, DType::i64);
  for (bool shuffle : {false, true})
    for (int ranks : {1, 2, 3}) {
      const BatchOptions o{.batch_size = 4, .shuffle = shuffle, .seed = 9};
      const Dataset whole = tensor_dataset(x, y, {.batch_size = 4 * ranks, .shuffle = shuffle, .seed = 9});
      std::vector<Dataset> parts;
      for (int r = 0; r < ranks; ++r) parts.push_back(sharded_dataset(x, y, r, ranks, o));
      INFO("ranks " << ranks << " shuffle " << shuffle);
      for (int64_t epoch = 0; epoch < 2; ++epoch)
        for (int64_t i = 0; i < parts[0].num_batches(); ++i) {
          std::vector<int64_t> joined;
          for (int r = 0; r < ranks; ++r) {
            REQUIRE(parts[size_t(r)].num_batches() == parts[0].num_batches());
            const Batch b = parts[size_t(r)].batch(epoch, i);
            CHECK(rows_of(b) == b.y.to_vector<int64_t>());
            for (int64_t v : rows_of(b)) joined.push_back(v);
          }
          CHECK(joined == rows_of(whole.batch(epoch, i)));
        }
      // 50 rows: 12 global batches of 4 and 2 rows (one rank), 6 of 8 and 2 rows (2 ranks: one
      // row each), 4 of 12 and 2 rows (3 ranks: fewer rows than ranks, dropped).
      CHECK(parts[0].num_batches() == (ranks == 1 ? 13 : ranks == 2 ? 7 : 4));
    }
}

TEST_CASE("sharded_dataset: the last batch is split evenly or dropped; bad ranks are errors", "[data][shard]") {
  const Tensor x = arange(10, DType::f32).reshape({10, 1});
  // 2 ranks of batch 4: one global batch of 8, then 2 rows: one for each rank.
  const std::vector<float> last = sharded_dataset(x, Tensor(), 1, 2, {.batch_size = 4}).batch(0, 1).x.to_vector<float>();
  CHECK(last == std::vector<float>{9});
  CHECK(sharded_dataset(x, Tensor(), 1, 2, {.batch_size = 4, .drop_last = true}).num_batches() == 1);
  AXON_REQUIRE_THROWS_WITH(sharded_dataset(x, Tensor(), 2, 2, {}), "sharded_dataset: rank 2 is not one of 2 ranks");
  CHECK(sharded_dataset(x, Tensor(), 0, 2, {.batch_size = 8}).num_batches() == 1);  // 5 rows each
  AXON_REQUIRE_THROWS_WITH(sharded_dataset(x.slice(0, 0, 1), Tensor(), 0, 2, {}),
                           "1 rows make no batch of 32 rows on each of 2 ranks");
}
