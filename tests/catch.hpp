#pragma once
// Catch2 v3 (Ubuntu 24.04) or v2 (Debian 12), whichever the build found.
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#define AXON_SKIP(msg) SKIP(msg)
#else
#include <catch2/catch.hpp>
namespace Catch {
using ::Catch::Detail::Approx;  // v3 spells it Catch::Approx
}
// v2 has no SKIP: say why and leave the test case.
#define AXON_SKIP(msg) \
  do {                 \
    WARN(msg);         \
    return;            \
  } while (0)
#endif
