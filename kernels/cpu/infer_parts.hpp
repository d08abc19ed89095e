#pragma once
// How many parts predict()'s inference kernels split a problem into (conv_infer.hpp; not installed).
#include <algorithm>
#include <cstdlib>

#include "parallel.hpp"

namespace axon::kernels::cpu {

// Forced (by the caller, else by AXON_CPU_INFER_PARTS, which tests use to run each split through
// predict), or as many as the pool has threads and the work repays at `per_part` units a part.
inline int infer_parts(int forced, double work, double per_part) {
  if (forced <= 0)
    if (const char* s = std::getenv("AXON_CPU_INFER_PARTS")) forced = std::atoi(s);
  if (forced > 0) return forced;
  return static_cast<int>(std::clamp<double>(work / per_part, 1.0, double(num_threads())));
}

}  // namespace axon::kernels::cpu
