#!/usr/bin/env bash
# The GPU machine's check: configure axon with CUDA for sm_90 in build-gpu, build with every core, run
# every test (the [cuda] ones included) and axon-bench, then print a short summary last. It never stops
# early: each step runs whatever happened before, and the exit status says whether all of it passed.
#
#   tools/gpu_check.sh            logs and bench output go to $OUT when set, else build-gpu/
#   BUILD_DIR=... JOBS=... CTEST_JOBS=... tools/gpu_check.sh
#   STAGES="build test" tools/gpu_check.sh    only some stages (build test bench train examples; default
#                                             all): a device call is limited to 10 minutes, and the build
#                                             dir survives between calls while the machine stays warm
set -u
STAGES=${STAGES:-build test bench train examples}
want() { case " $STAGES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-gpu}
DEST=${OUT:-$BUILD}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
CTEST_JOBS=${CTEST_JOBS:-4}  # tests share one GPU: a few at a time
mkdir -p "$BUILD" "$DEST"
SUMMARY=$DEST/summary.txt
: >"$SUMMARY"
touch "$DEST/ctest.log" "$DEST/bench_all.jsonl"  # a partial run (STAGES) still summarises
status=0
step() { printf '\n== %s\n' "$*"; }
say() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }

step "environment"
{
  echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "date:   $(date -u '+%Y-%m-%d %H:%M UTC')"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu:    /'
  nvcc --version 2>/dev/null | tail -1 | sed 's/^/nvcc:   /'
  cmake --version 2>/dev/null | head -1 | sed 's/^/cmake:  /'
} | tee "$DEST/environment.txt"

configure_rc=0; build_rc=0; ctest_rc=0; quick_rc=0; all_rc=0; extra_rc=0; train_rc=0; examples_rc=0
if want build; then
step "configure ($BUILD)"
GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
if [ -f "$BUILD/CMakeCache.txt" ] && ! grep -q "CMAKE_GENERATOR:INTERNAL=${GEN[1]:-Unix Makefiles}" "$BUILD/CMakeCache.txt"; then
  GEN=()  # keep the generator an earlier configure chose
fi
cmake -S "$ROOT" -B "$BUILD" "${GEN[@]}" -DAXON_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_BUILD_TYPE=Release \
  >"$DEST/configure.log" 2>&1
configure_rc=$?
tail -3 "$DEST/configure.log"

step "build (-j $JOBS)"
if [ $configure_rc -eq 0 ]; then
  # Keep going past a failing target, so that everything else still gets built and tested.
  if grep -q "CMAKE_GENERATOR:INTERNAL=Ninja" "$BUILD/CMakeCache.txt"; then KEEP=(-k 0); else KEEP=(-k); fi
  cmake --build "$BUILD" -j "$JOBS" -- "${KEEP[@]}" >"$DEST/build.log" 2>&1
  build_rc=$?
else
  build_rc=1
fi
grep -E "error|FAILED" "$DEST/build.log" 2>/dev/null | head -20
echo "build exit status: $build_rc"
fi

if want test; then
step "ctest (-j $CTEST_JOBS)"
ctest --test-dir "$BUILD" -j "$CTEST_JOBS" --output-on-failure --timeout 900 >"$DEST/ctest.log" 2>&1
ctest_rc=$?
tail -15 "$DEST/ctest.log"
fi

BENCH=$BUILD/bench/axon-bench
if want bench; then
step "axon-bench quick --device cuda"
if [ -x "$BENCH" ]; then
  "$BENCH" quick --device cuda >"$DEST/bench_quick.txt" 2>&1
  quick_rc=$?
  cat "$DEST/bench_quick.txt"
else
  echo "no $BENCH" | tee "$DEST/bench_quick.txt"
  quick_rc=127
fi

step "axon-bench all --device cuda --json"
if [ -x "$BENCH" ]; then
  "$BENCH" all --device cuda --json >"$DEST/bench_all.jsonl" 2>"$DEST/bench_all.stderr"
  all_rc=$?
  cat "$DEST/bench_all.stderr"
else
  : >"$DEST/bench_all.jsonl"
  all_rc=127
fi

step "axon-bench memory, optim, conv, autograd --device cuda --json"
extra_rc=0
if [ -x "$BENCH" ]; then
  for w in memory optim conv autograd; do
    "$BENCH" "$w" --device cuda --json >>"$DEST/bench_all.jsonl" 2>>"$DEST/bench_all.stderr" || extra_rc=1
  done
  tail -5 "$DEST/bench_all.stderr"
fi
fi

# The Fashion-MNIST files do not exist on the GPU machine: carry them in data/fashion-mnist
# (git-ignored; `mkdir -p data && cp -r /usr/share/datasets/fashion-mnist data/`).
if want train; then
step "axon-bench w1 w2 (eager and --compile) w6 w7 w5 --device cuda --json (training workloads)"
if [ -x "$BENCH" ]; then
  for w in "w1" "w1 --compile" "w2" "w2 --compile" "w6" "w7" "w5"; do
    # shellcheck disable=SC2086  # $w is a workload and its flags
    "$BENCH" $w --device cuda --json >>"$DEST/bench_all.jsonl" 2>>"$DEST/bench_train.stderr" || train_rc=1
  done
  tail -5 "$DEST/bench_train.stderr"
else
  train_rc=127
fi
fi

if want examples; then
step "examples on cuda"
"$BUILD/examples/example_quickstart" >"$DEST/examples.txt" 2>&1 || examples_rc=1
if [ -f "$ROOT/data/fashion-mnist/train-images-idx3-ubyte.gz" ]; then
  "$BUILD/examples/example_mlp_fashion_mnist" --device cuda --epochs 2 --data "$ROOT/data/fashion-mnist" \
    >>"$DEST/examples.txt" 2>&1 || examples_rc=1
  for m in mlp cnn; do
    "$BUILD/examples/example_fashion_mnist" --model $m --device cuda --epochs 2 --data "$ROOT/data/fashion-mnist" \
      >>"$DEST/examples.txt" 2>&1 || examples_rc=1
  done
else
  echo "no data/fashion-mnist: Fashion-MNIST examples skipped" >>"$DEST/examples.txt"
fi
tail -c 3000 "$DEST/examples.txt"
fi

# ---- the summary, last
step "summary"
say "$(cat "$DEST/environment.txt")"
say "configure: $([ $configure_rc -eq 0 ] && echo ok || echo "FAILED (see configure.log)")"
say "build:     $([ $build_rc -eq 0 ] && echo ok || echo "FAILED (see build.log)")"
passed_line=$(grep -E "tests passed, [0-9]+ tests failed out of" "$DEST/ctest.log" | tail -1)
say "tests:     ${passed_line:-no ctest result (see ctest.log)}"
skipped=$(grep -cE "\*\*\*Skipped|Not Run" "$DEST/ctest.log")
[ "$skipped" -gt 0 ] && say "           $skipped test(s) skipped or not run (on a GPU machine none should be)"
if grep -q "The following tests FAILED" "$DEST/ctest.log"; then
  say "failed tests:"
  sed -n '/The following tests FAILED/,$p' "$DEST/ctest.log" | grep -E "^\s+[0-9]+ - " | head -40 | tee -a "$SUMMARY"
fi
say "stages: $STAGES"
say "examples: $([ $examples_rc -eq 0 ] && echo ok || echo "FAILED (see examples.txt)"); extra bench workloads: exit $extra_rc; training workloads: exit $train_rc"
say "bench quick: exit $quick_rc; bench all: exit $all_rc ($(grep -c '"value"' "$DEST/bench_all.jsonl") figures, $(grep -c '"ok": false' "$DEST/bench_all.jsonl") wrong, $(grep -c '"error"' "$DEST/bench_all.jsonl") errors)"
say ""
say "axon-bench all --device cuda (median; % of PyTorch H100):"
if command -v python3 >/dev/null 2>&1 && [ -s "$DEST/bench_all.jsonl" ]; then
  python3 - "$DEST/bench_all.jsonl" <<'PY' | tee -a "$SUMMARY"
import json, sys
print(f"{'wl':<8} {'op':<17} {'dtype':<5} {'size':<15} {'median ms':>10} {'value':>9} {'unit':<8} {'ceiling':>8} {'PyTorch':>8} {'%torch':>7}  check")
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    f = json.loads(line)
    if "error" in f:
        print(f"{f['workload']:<8} {f['op']:<45} error: {f['error']}")
        continue
    peer = f.get("peer")
    pct = f"{100 * f['value'] / peer:.1f}%" if peer else "-"
    ceil = f"{f['ceiling']:.1f}" if f.get("ceiling") is not None else "-"
    print(f"{f['workload']:<8} {f['op']:<17} {f['dtype']:<5} {f['shape']:<15} {f['median_ms']:>10.3f} {f['value']:>9.1f} "
          f"{f['unit']:<8} {ceil:>8} {(f'{peer:.1f}' if peer else '-'):>8} {pct:>7}  {'ok' if f['ok'] else 'WRONG: ' + f['check']}")
PY
else
  tee -a "$SUMMARY" <"$DEST/bench_all.jsonl"
fi
say ""
say "logs: $DEST/{configure,build,ctest}.log, bench_quick.txt, bench_all.jsonl, summary.txt"

for rc in $configure_rc $build_rc $ctest_rc $quick_rc $all_rc $extra_rc $train_rc $examples_rc; do [ "$rc" -ne 0 ] && status=1; done
exit $status
