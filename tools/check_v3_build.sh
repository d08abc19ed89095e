#!/usr/bin/env bash
# Builds axon's tests the way the GPU machine does: CMake 4 and Catch2 v3 (this machine and CI have
# CMake 3.25 and Debian's Catch2 v2, so nothing else here compiles the tests against v3). Rerun it
# after touching tests/ so that a GPU window never meets a compile error.
#
#   bash tools/check_v3_build.sh [--cuda] [--jobs N] [--tests "test_a test_b"] [--quick]
#
# 1. CMake 4: pip's `cmake` package in a scratch venv ($SCRATCH/venv).
# 2. Catch2 v3 ($CATCH2_TAG, default v3.4.0, the version the GPU machine was found with): its source is
#    taken, only if $SCRATCH/catch2-src is absent, from $CATCH2_SRC (a source tree), else from
#    $CATCH2_GIT_DIR (a bare git clone: `git archive $CATCH2_TAG`), else by `git clone` from GitHub;
#    then built with CMake 4 and installed into $SCRATCH/catch2-$CATCH2_TAG. Nothing is downloaded while
#    axon builds: find_package(Catch2 3) finds that prefix.
# 3. axon configured with CMake 4 in $BUILD (default build/v3-cpu, or build/v3-cuda with --cuda:
#    -DAXON_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90), ccache when present; every test target built
#    (--quick: only those of step 4). CMake 4 orders the compiler flags differently from 3.25, so the
#    first run recompiles the library rather than hitting ccache's copies of build/cpu's objects.
# 4. A few test binaries run (default: the three that used bare `Approx`, plus tensor and matmul);
#    [cuda] cases skip without a GPU.
#
# Where pip's cmake or the Catch2 source cannot be had (no network, no mirror), it says so and
# exits 0 with "SKIPPED": it is a check for a developer machine, not part of CI.
# Environment: SCRATCH (default ~/.cache/axon-v3, outside the repository), CATCH2_TAG, CATCH2_SRC,
# CATCH2_GIT_DIR, CMAKE4_SPEC (pip requirement, default "cmake>=4"), BUILD, JOBS.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

CUDA=0
QUICK=0
JOBS=${JOBS:-$(nproc)}
TESTS="test_idx test_optim test_optim_schedules test_tensor test_matmul"
while [ $# -gt 0 ]; do
  case "$1" in
    --cuda) CUDA=1 ;;
    --jobs) JOBS=$2; shift ;;
    --tests) TESTS=$2; shift ;;
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "check_v3_build: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

SCRATCH=${SCRATCH:-$HOME/.cache/axon-v3}
CATCH2_TAG=${CATCH2_TAG:-v3.4.0}
CMAKE4_SPEC=${CMAKE4_SPEC:-cmake>=4}
if [ "$CUDA" = 1 ]; then BUILD=${BUILD:-build/v3-cuda}; else BUILD=${BUILD:-build/v3-cpu}; fi
mkdir -p "$SCRATCH"

skip() {
  echo "check_v3_build: SKIPPED: $*"
  exit 0
}

# ---- 1. CMake 4
VENV=$SCRATCH/venv
CMAKE4=$VENV/bin/cmake
if [ ! -x "$CMAKE4" ]; then
  python3 -m venv "$VENV" || skip "python3 -m venv failed"
  "$VENV/bin/pip" install --quiet "$CMAKE4_SPEC" || skip "pip could not install '$CMAKE4_SPEC' (no network?)"
fi
echo "check_v3_build: $("$CMAKE4" --version | head -1)"

# ---- 2. Catch2 v3, source fetched beforehand, built into a scratch prefix
SRC=$SCRATCH/catch2-src
PREFIX=$SCRATCH/catch2-$CATCH2_TAG
if [ ! -f "$PREFIX/.installed" ]; then
  if [ ! -f "$SRC/CMakeLists.txt" ]; then
    rm -rf "$SRC" && mkdir -p "$SRC"
    if [ -n "${CATCH2_SRC:-}" ]; then
      cp -a "$CATCH2_SRC/." "$SRC/"
    elif [ -n "${CATCH2_GIT_DIR:-}" ]; then
      git --git-dir="$CATCH2_GIT_DIR" archive "$CATCH2_TAG" | tar -x -C "$SRC" ||
        skip "no $CATCH2_TAG in $CATCH2_GIT_DIR"
    else
      rm -rf "$SRC"
      git clone --quiet --depth 1 --branch "$CATCH2_TAG" https://github.com/catchorg/Catch2.git "$SRC" ||
        skip "cannot fetch Catch2 $CATCH2_TAG (no network? set CATCH2_SRC or CATCH2_GIT_DIR)"
    fi
  fi
  rm -rf "$SCRATCH/catch2-build" "$PREFIX"
  "$CMAKE4" -S "$SRC" -B "$SCRATCH/catch2-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" -DBUILD_TESTING=OFF -DCATCH_INSTALL_DOCS=OFF -DCATCH_INSTALL_EXTRAS=ON \
    > "$SCRATCH/catch2-configure.log"
  "$CMAKE4" --build "$SCRATCH/catch2-build" -j "$JOBS" > "$SCRATCH/catch2-build.log"
  "$CMAKE4" --install "$SCRATCH/catch2-build" > "$SCRATCH/catch2-install.log"
  touch "$PREFIX/.installed"
fi
echo "check_v3_build: Catch2 $CATCH2_TAG in $PREFIX"

# ---- 3. axon with CMake 4 against Catch2 v3
args=(-S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX")
if command -v ccache > /dev/null; then
  args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
if [ "$CUDA" = 1 ]; then
  export PATH=/usr/local/cuda/bin:$PATH
  args+=(-DAXON_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90)
else
  args+=(-DAXON_CUDA=OFF)
fi
"$CMAKE4" "${args[@]}" | tee "$SCRATCH/axon-configure.log" | grep -E "axon .*Catch2|Error" || true
grep -q "Catch2 3\." "$SCRATCH/axon-configure.log" || {
  echo "check_v3_build: FAILED: configure did not pick Catch2 v3 (see $SCRATCH/axon-configure.log)"
  exit 1
}
if [ "$QUICK" = 1 ]; then targets=$TESTS; else targets=$(cd tests && ls test_*.cpp | sed 's/\.cpp$//'); fi
# shellcheck disable=SC2086
"$CMAKE4" --build "$BUILD" -j "$JOBS" --target $targets

# ---- 4. a few binaries
failed=""
for t in $TESTS; do
  if "$BUILD/tests/$t" > "$SCRATCH/$t.log" 2>&1; then
    echo "check_v3_build: $t: $(tail -n 2 "$SCRATCH/$t.log" | tr -s '\n' ' ')"
  else
    failed="$failed $t"
    tail -n 30 "$SCRATCH/$t.log"
  fi
done
if [ -n "$failed" ]; then
  echo "check_v3_build: FAILED:$failed (logs in $SCRATCH)"
  exit 1
fi
what="every test target compiles"
[ "$QUICK" = 1 ] && what="the tests run compile"
echo "check_v3_build: OK: $what with $("$CMAKE4" --version | head -1) and Catch2 $CATCH2_TAG; ran: $TESTS"
