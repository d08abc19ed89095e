#pragma once
// Small training problems shared by the loop-handler tests (progress, logs, checkpoint files).
#include <axon/model.hpp>
#include <axon/train.hpp>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "harness.hpp"

namespace axon::test {

// input [-1, features] -> dense(1).
inline Model small_regression(int64_t features) { return input("input", {-1, features}) | dense(1); }

// `rows` rows of y = x0 - 2 x1 (+ 0.5 x2 ...) with x uniform in [-1, 1), batched (no shuffling).
inline training::Dataset regression_rows(int64_t rows, int64_t features, int64_t batch, uint64_t seed) {
  std::vector<double> xs = random_values(rows * features, -1, 1, seed);
  std::vector<float> x(xs.begin(), xs.end()), y;
  for (int64_t r = 0; r < rows; ++r) {
    double v = 0, w = 1;
    for (int64_t j = 0; j < features; ++j, w = -w / 2) v += w * xs[size_t(r * features + j)];
    y.push_back(float(v));
  }
  return training::tensor_dataset(from_vector(x, {rows, features}), from_vector(y, {rows, 1}), {.batch_size = batch});
}

}  // namespace axon::test
