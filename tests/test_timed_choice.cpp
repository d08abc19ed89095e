// The CPU kernels' timed choices (kernels/cpu/timed_choice.hpp): a key is decided once for the
// process, the first decision holds when threads race, each user (tag) keeps its own decisions, the
// interleaved timing stops where told; and the public path settings read back through the kernels'
// enums (core/src/ops/cpu_paths.cpp).
#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "../kernels/cpu/timed_choice.hpp"
#include "harness.hpp"

using namespace axon;
namespace kc = axon::kernels::cpu;

namespace {
struct FirstUser;
struct SecondUser;
struct RacedUser;
}  // namespace

TEST_CASE("a timed choice decides a key once and keeps it", "[timed_choice]") {
  using Choice = kc::TimedChoice<int, FirstUser>;
  int decided = 0;
  CHECK_FALSE(Choice::find(1).has_value());
  CHECK(Choice::choose(1, [&] { return ++decided, true; }));
  CHECK(Choice::choose(1, [&] { return ++decided, false; }));  // not decided again
  CHECK(decided == 1);
  CHECK(Choice::find(1) == std::optional<bool>(true));
  CHECK_FALSE(Choice::choose(2, [&] { return ++decided, false; }));
  CHECK(decided == 2);
  CHECK(Choice::keep(2, true) == false);  // the first decision holds
  CHECK(Choice::find(2) == std::optional<bool>(false));
  // Another user's decisions are its own, on the same key type.
  CHECK_FALSE(kc::TimedChoice<int, SecondUser>::find(1).has_value());
  // Another thread sees the decisions (through the shared map) without deciding.
  std::optional<bool> seen;
  std::thread([&] { seen = Choice::find(1); }).join();
  CHECK(seen == std::optional<bool>(true));
}

TEST_CASE("threads that decide one key at once all get the first decision", "[timed_choice]") {
  using Choice = kc::TimedChoice<int, RacedUser>;
  constexpr int kThreads = 8;
  std::atomic<int> ready{0};
  std::vector<int> got(kThreads, -1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      got[size_t(t)] = Choice::choose(7, [t] { return t % 2 == 1; });
    });
  for (auto& th : threads) th.join();
  const bool kept = *Choice::find(7);
  for (int g : got) CHECK(g == int(kept));
}

TEST_CASE("time_pairs interleaves the two paths and stops where told", "[timed_choice]") {
  std::vector<char> order;
  auto a = [&] { order.push_back('a'); };
  auto b = [&] { order.push_back('b'); };
  int asked = 0;
  const kc::PairTimes t = kc::time_pairs(a, b, 5, [&](int pairs, const kc::PairTimes& best, double total) {
    ++asked;
    CHECK(best.a >= 0);
    CHECK(best.a < 1);
    CHECK(best.b < 1);
    CHECK(total >= best.a + best.b);
    return pairs == 3;
  });
  CHECK(asked == 3);
  CHECK(order == std::vector<char>{'a', 'b', 'a', 'b', 'a', 'b'});
  CHECK(t.a < 1);
  order.clear();
  (void)kc::time_pairs(a, b, 2, [](int, const kc::PairTimes&, double) { return false; });
  CHECK(order.size() == 4);  // at most max_pairs
}

TEST_CASE("a path setting starts from its environment variable when that names a path", "[timed_choice]") {
  enum class Path { automatic, slow, fast };
  auto initial = [](const char* value) {
    if (value)
      ::setenv("AXON_TEST_TIMED_CHOICE_PATH", value, 1);
    else
      ::unsetenv("AXON_TEST_TIMED_CHOICE_PATH");
    return kc::PathSetting<Path>("AXON_TEST_TIMED_CHOICE_PATH", "slow", Path::slow, "fast", Path::fast).get();
  };
  CHECK(initial("slow") == Path::slow);
  CHECK(initial("fast") == Path::fast);
  CHECK(initial("auto") == Path::automatic);
  CHECK(initial("FAST") == Path::automatic);
  CHECK(initial(nullptr) == Path::automatic);
  ::unsetenv("AXON_TEST_TIMED_CHOICE_PATH");
  kc::PathSetting<Path> setting("AXON_TEST_TIMED_CHOICE_PATH", "slow", Path::slow, "fast", Path::fast);
  setting.set(Path::fast);
  CHECK(setting.get() == Path::fast);
}

TEST_CASE("the AVX2 kernels' switch reads back and its scope puts it back", "[timed_choice][ops]") {
  const bool on0 = cpu_avx2_kernels();
  {
    test::Avx2KernelsScope off(false);
    CHECK_FALSE(cpu_avx2_kernels());
    set_cpu_avx2_kernels(true);
    // On only where the CPU has AVX2 and FMA.
#if defined(__x86_64__) && defined(__GNUC__)
    CHECK(cpu_avx2_kernels() == (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")));
#else
    CHECK_FALSE(cpu_avx2_kernels());
#endif
  }
  CHECK(cpu_avx2_kernels() == on0);
}

TEST_CASE("the CPU path settings read back and scopes put them back", "[timed_choice][ops]") {
  const CpuConvPath conv0 = cpu_conv_path();
  const CpuDensePath dense0 = cpu_dense_path();
  const CpuGemmPath gemm0 = cpu_gemm_path();
  {
    test::ConvPathScope conv(CpuConvPath::automatic);
    test::DensePathScope dense(CpuDensePath::automatic);
    test::GemmPathScope gemm(CpuGemmPath::automatic);
    for (CpuConvPath p : {CpuConvPath::im2col, CpuConvPath::onednn, CpuConvPath::automatic}) {
      set_cpu_conv_path(p);
      CHECK(cpu_conv_path() == p);
    }
    for (CpuDensePath p : {CpuDensePath::gemm, CpuDensePath::fused, CpuDensePath::automatic}) {
      set_cpu_dense_path(p);
      CHECK(cpu_dense_path() == p);
    }
    for (CpuGemmPath p : {CpuGemmPath::openblas, CpuGemmPath::onednn, CpuGemmPath::automatic}) {
      set_cpu_gemm_path(p);
      CHECK(cpu_gemm_path() == p);
    }
    set_cpu_dense_path(CpuDensePath::fused);
  }
  CHECK(cpu_conv_path() == conv0);
  CHECK(cpu_dense_path() == dense0);
  CHECK(cpu_gemm_path() == gemm0);
  // The dense setting reaches the kernel: a forced path is the one that runs (f32, 8 rows).
  {
    test::DensePathScope scope(CpuDensePath::fused);
    const CpuDenseRuns before = cpu_dense_runs();
    (void)fused_dense(test::random_tensor({8, 16}, DType::f32), test::random_tensor({16, 24}, DType::f32),
                      test::random_tensor({24}, DType::f32), FusedActivation::relu);
    CHECK(cpu_dense_runs().fused == before.fused + 1);
    CHECK(cpu_dense_runs().gemm == before.gemm);
  }
}
