#!/usr/bin/env bash
# The GPU machine's check: configure axon with CUDA for sm_90, build with every core, run every test
# (the [cuda] ones included), compute-sanitizer over the kernels' tests, the kernels' register budget,
# axon-bench beside a PyTorch peer of the same run, the host synchronisations of a compiled step and
# the examples; then a short summary, printed last. It never stops early: each stage runs whatever
# happened before, and the exit status says whether all of it passed. Without a GPU (or without the
# tool a stage needs) a stage prints "<stage>: no GPU: skipped" and the summary says so.
#
#   OUT=/tmp/gc tools/gpu_check.sh       logs, JSON lines and summary.txt go to $OUT (else $BUILD_DIR)
#   STAGES="build test" tools/gpu_check.sh
#       stages, run in this order whatever order they are named in (default: all):
#         build      configure + build (all targets, or BUILD_TARGETS)             ~3-5 min, 16 cores
#         resources  cuobjdump register use per kernel; 1024-thread launches that cannot fit  ~10 s
#         test       ctest, CTEST_JOBS at a time (CTEST_REGEX to narrow); NCCL under mpirun  ~1-2 min
#         memcheck   compute-sanitizer memcheck over the reduce/softmax/norm/index/matmul/conv/graph
#                    tests' CUDA cases, racecheck over reduce/softmax/norm (time-boxed)  <= MEMCHECK_BUDGET
#         bench      axon-bench quick, all (W3, W4), memory, optim, conv, autograd   ~1 min
#         train      axon-bench w1, w2 (eager, --compile, --pipeline), w6, w7, w5     ~1-2 min
#         peer       bench/peers/torch_gpu.py (PyTorch) on the same workloads        <= PEER_TIMEOUT
#         syncs      nsys: host synchronisations a compiled W1 step makes            ~40 s
#         examples   the examples on CUDA, the C and Fortran embedding examples       ~30 s
#       A device call is limited to 10 minutes and the build dir survives between calls while the
#       machine stays warm: split the stages over calls (see README "Checking on a GPU").
#   Environment: BUILD_DIR (default build-gpu), CUDA=ON|OFF (configure; OFF only for a dry run on a
#   CPU build), JOBS, CTEST_JOBS, CTEST_REGEX, BUILD_TARGETS, MEMCHECK_TIMEOUT (s a binary, 90),
#   RACECHECK_TIMEOUT (60), MEMCHECK_BUDGET (s for the whole stage, 240), TRAIN_EPOCHS (3), CUOBJDUMP, NSYS,
#   COMPUTE_SANITIZER, AXON_COMMIT (the commit, where the tree has no .git), TORCH_PYTHON (default: /opt/torch/.venv/bin/python, else a python3 with torch), PEER_DEVICE (cuda; cpu for a
#   dry run), PEER_ARGS (extra torch_gpu.py flags, e.g. "--w5-compile default"), PEER_TIMEOUT (s, 300).
set -u
ALL_STAGES="build resources test memcheck bench train peer syncs examples"
STAGES=${STAGES:-$ALL_STAGES}
want() { case " $STAGES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
for s in $STAGES; do
  case " $ALL_STAGES " in *" $s "*) ;; *) echo "gpu_check: unknown stage '$s' (stages: $ALL_STAGES)" >&2; exit 2 ;; esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-gpu}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
DEST=${OUT:-$BUILD}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
CTEST_JOBS=${CTEST_JOBS:-4}  # tests share one GPU: a few at a time
TRAIN_EPOCHS=${TRAIN_EPOCHS:-3}  # W1/W2 epochs, axon and PyTorch alike; the figure is their upper median
export PATH=$PATH:/usr/local/cuda/bin
mkdir -p "$BUILD" "$DEST"
SUMMARY=$DEST/summary.txt
: >"$SUMMARY"
: >"$DEST/stages.txt"  # one line a stage: what it found, or why it was skipped
# A partial run (STAGES) still summarises what earlier calls with the same $OUT left; a stage that runs
# again replaces its own files.
touch "$DEST/ctest.log" "$DEST/bench_all.jsonl" "$DEST/bench_train.jsonl" "$DEST/peer.jsonl"
status=0
step() { printf '\n== %s\n' "$*"; }
say() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }
note() { printf '%s\n' "$*" | tee -a "$DEST/stages.txt"; }  # a stage's result line for the summary
fail() { status=1; note "$@"; }
tool() {  # the first of: $override, the command on PATH, the places CUDA and Nsight install it
  local override=$1 name=$2 c
  if [ -n "$override" ] && [ -x "$override" ]; then echo "$override"; return; fi
  command -v "$name" 2>/dev/null && return
  for c in /usr/local/cuda/bin/"$name" /usr/local/cuda/"$name"/"$name" /usr/local/cuda/nsight-systems*/bin/"$name" \
           /opt/nvidia/nsight-systems/*/bin/"$name"; do
    [ -x "$c" ] && { echo "$c"; return; }
  done
}
PY=$(command -v python3 || true)

step "environment"
GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
{
  # AXON_COMMIT names the commit where the tree is a copy without .git (the device machine's).
  echo "commit: ${AXON_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (with local changes)')}"
  echo "date:   $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "gpu:    ${GPU:-none}"
  echo "cpu:    $(nproc 2>/dev/null) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //')"
  nvcc --version 2>/dev/null | tail -1 | sed 's/^/nvcc:   /'
  cmake --version 2>/dev/null | head -1 | sed 's/^/cmake:  /'
  echo "build:  $BUILD"
} | tee "$DEST/environment.txt"
has_gpu() { [ -n "$GPU" ]; }
# The kernels' objects: in axon_cuda.dir (the shared build's libaxon_cuda.so) or axon.dir (static).
kernel_objs() {
  if [ -d "$BUILD/CMakeFiles/axon_cuda.dir/kernels" ]; then echo "$BUILD/CMakeFiles/axon_cuda.dir/kernels"
  else echo "$BUILD/CMakeFiles/axon.dir/kernels"; fi
}
built_cuda() { [ -d "$(kernel_objs)/cuda" ]; }

if want build; then
  step "configure ($BUILD, AXON_CUDA=${CUDA:-ON})"
  GEN=()
  command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
  if [ -f "$BUILD/CMakeCache.txt" ] && ! grep -q "CMAKE_GENERATOR:INTERNAL=${GEN[1]:-Unix Makefiles}" "$BUILD/CMakeCache.txt"; then
    GEN=()  # keep the generator an earlier configure chose
  fi
  CUDA_FLAGS=(-DAXON_CUDA="${CUDA:-ON}")
  [ "${CUDA:-ON}" != OFF ] && CUDA_FLAGS+=(-DCMAKE_CUDA_ARCHITECTURES=90)
  [ -n "${AXON_COMMIT:-}" ] && CUDA_FLAGS+=(-DAXON_COMMIT="$AXON_COMMIT")
  LAUNCHER=()
  command -v ccache >/dev/null 2>&1 && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  cmake -S "$ROOT" -B "$BUILD" "${GEN[@]}" "${CUDA_FLAGS[@]}" "${LAUNCHER[@]}" -DCMAKE_BUILD_TYPE=Release \
    >"$DEST/configure.log" 2>&1
  configure_rc=$?
  tail -3 "$DEST/configure.log"
  step "build (-j $JOBS${BUILD_TARGETS:+, targets $BUILD_TARGETS})"
  if [ $configure_rc -eq 0 ]; then
    # Keep going past a failing target, so that everything else still gets built and tested.
    if grep -q "CMAKE_GENERATOR:INTERNAL=Ninja" "$BUILD/CMakeCache.txt"; then KEEP=(-k 0); else KEEP=(-k); fi
    TARGETS=()
    for t in ${BUILD_TARGETS:-}; do TARGETS+=(--target "$t"); done
    t0=$SECONDS
    cmake --build "$BUILD" -j "$JOBS" "${TARGETS[@]}" -- "${KEEP[@]}" >"$DEST/build.log" 2>&1
    build_rc=$?
    grep -E "error|FAILED" "$DEST/build.log" | head -20
    [ $build_rc -eq 0 ] && note "build: ok ($((SECONDS - t0)) s)" || fail "build: FAILED (exit $build_rc, see build.log)"
  else
    fail "build: configure FAILED (see configure.log)"
  fi
fi

if want resources; then
  step "resources: registers per kernel (cuobjdump --dump-resource-usage)"
  CUOBJDUMP=$(tool "${CUOBJDUMP:-}" cuobjdump)
  # The kernels are in libaxon_cuda.so by default (BUILD_SHARED_LIBS); a static build has them in
  # libaxon.a. A build that stopped early still has the kernels' objects.
  LIBS=$(find "$BUILD" -maxdepth 2 \( -name 'libaxon_cuda.so.*.*' -o -name 'libaxon.a' \) -type f 2>/dev/null | head -1)
  [ -z "$LIBS" ] && LIBS=$(find "$(kernel_objs)" -name '*.cu.o' 2>/dev/null | sort)
  if ! built_cuda || [ -z "$LIBS" ]; then
    note "resources: no CUDA code in $BUILD (a CPU build): skipped"
  elif [ -z "$CUOBJDUMP" ]; then
    note "resources: cuobjdump not found (set CUOBJDUMP): skipped"
  elif [ -z "$PY" ]; then
    note "resources: no python3 to parse the dump: skipped"
  else
    : >"$DEST/resource_usage.txt"; : >"$DEST/resource_elf.txt"
    for f in $LIBS; do
      "$CUOBJDUMP" --dump-resource-usage "$f" >>"$DEST/resource_usage.txt" 2>&1
      "$CUOBJDUMP" -elf "$f" 2>/dev/null | grep -E '^\s*\.nv\.info\.|Attribute:|Value:' >>"$DEST/resource_elf.txt"
    done
    "$PY" "$ROOT/tools/gpu_check.py" resources "$DEST/resource_usage.txt" "$DEST/resource_elf.txt" \
      >"$DEST/resources.txt" 2>&1
    cat "$DEST/resources.txt"
    note "$(head -1 "$DEST/resources.txt") [$(echo "$LIBS" | wc -w) file(s)]"
  fi
fi

if want test; then
  step "ctest (-j $CTEST_JOBS${CTEST_REGEX:+, -R $CTEST_REGEX})"
  REGEX=()
  [ -n "${CTEST_REGEX:-}" ] && REGEX=(-R "$CTEST_REGEX")
  ctest --test-dir "$BUILD" -j "$CTEST_JOBS" "${REGEX[@]}" --output-on-failure --timeout 900 >"$DEST/ctest.log" 2>&1
  ctest_rc=$?
  tail -15 "$DEST/ctest.log"
  line=$(grep -E "tests passed, [0-9]+ tests failed out of" "$DEST/ctest.log" | tail -1)
  [ $ctest_rc -eq 0 ] && note "tests: ${line:-ok}" || fail "tests: ${line:-no ctest result (see ctest.log)}"
  skipped=$(grep -cE "\*\*\*Skipped" "$DEST/ctest.log")
  if [ "$skipped" -gt 0 ]; then
    has_gpu && note "       $skipped test(s) skipped: on a GPU machine none should be (see ctest.log)" \
            || note "       $skipped test(s) skipped: no GPU, so their [cuda] cases did not run"
  fi
  not_run=$(grep -cE "\*\*\*Not Run" "$DEST/ctest.log")
  [ "$not_run" -gt 0 ] && note "       $not_run test(s) not run (an executable not built: see build.log)"
  if grep -q "The following tests FAILED" "$DEST/ctest.log"; then
    sed -n '/The following tests FAILED/,$p' "$DEST/ctest.log" | grep -E "^\s+[0-9]+ - " | head -40 |
      sed 's/^/       /' | tee -a "$DEST/stages.txt"
  fi
  # NCCL: the dist test's CUDA case under MPI (ctest runs it without a launcher); one GPU, one rank.
  MPIRUN=$(command -v mpirun || command -v mpiexec || true)
  if ! has_gpu; then
    note "nccl: no GPU: skipped"
  elif [ -z "$MPIRUN" ] || [ ! -x "$BUILD/tests/test_dist" ]; then
    note "nccl: no mpirun or no $BUILD/tests/test_dist (built without MPI): skipped"
  else
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout -k 10 300 "$MPIRUN" --allow-run-as-root -np 1 \
      "$BUILD/tests/test_dist" "[cuda]" >"$DEST/nccl.log" 2>&1
    nccl_rc=$?
    result=$(sed 's/\x1b\[[0-9;]*m//g' "$DEST/nccl.log" | grep -E 'All tests passed|test cases' | tail -1)
    nccl_cfg=$(grep -oE 'NCCL [^;]*' "$DEST/configure.log" 2>/dev/null | tail -1)  # built with it or not
    [ $nccl_rc -eq 0 ] && note "nccl: test_dist [cuda] under mpirun: ${result:-ok}${nccl_cfg:+ (configure: $nccl_cfg)}" \
                       || fail "nccl: test_dist [cuda] under mpirun FAILED, exit $nccl_rc (see nccl.log)"
  fi
fi

# compute-sanitizer on one test binary: the CUDA cases ("[cuda]") when it has any, else all of its
# cases (the CUDA-vs-CPU comparisons live inside the op tests). Prints "<errors>" or why there are none.
sanitize() {
  local tool=$1 bin=$2 box=$3 log=$4 filter=() left
  left=$((MEMCHECK_DEADLINE - SECONDS))
  [ "$left" -lt 10 ] && { echo "not run (MEMCHECK_BUDGET spent)"; return; }
  [ "$box" -gt "$left" ] && box=$left
  if "$bin" --list-tests "[cuda]" 2>/dev/null | grep -qE "^[[:space:]]*[1-9][0-9]* matching test case"; then
    filter=("[cuda]")
  fi
  timeout -k 10 "$box" "$SANITIZER" --tool "$tool" --print-limit 30 "$bin" "${filter[@]}" >"$log" 2>&1
  local rc=$? errors
  # memcheck ends with "ERROR SUMMARY: N errors"; racecheck may instead end with
  # "RACECHECK SUMMARY: N hazards displayed (E errors, W warnings)".
  errors=$(grep -oE "ERROR SUMMARY: [0-9]+ error" "$log" | tail -1 | grep -oE "[0-9]+")
  [ -z "$errors" ] && errors=$(grep -oE "RACECHECK SUMMARY: .*\([0-9]+ error" "$log" | tail -1 | grep -oE "[0-9]+ error" | grep -oE "[0-9]+")
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "TIMED OUT after ${box}s (${errors:+$errors errors reported before}${errors:-no error summary})"
  elif [ -z "$errors" ]; then
    echo "no sanitizer summary (exit $rc, see $(basename "$log"))"
  else
    local which="all its cases (no [cuda] tag)"
    [ ${#filter[@]} -gt 0 ] && which="its [cuda] cases"
    echo "$errors errors in $which, test exit $rc"
  fi
}

if want memcheck; then
  step "memcheck / racecheck (compute-sanitizer)"
  SANITIZER=$(tool "${COMPUTE_SANITIZER:-}" compute-sanitizer)
  if ! has_gpu; then
    note "memcheck: no GPU: skipped"
  elif [ -z "$SANITIZER" ]; then
    note "memcheck: compute-sanitizer not found (set COMPUTE_SANITIZER): skipped"
  elif ! built_cuda; then
    note "memcheck: $BUILD is not a CUDA build: skipped"
  else
    MEMCHECK_DEADLINE=$((SECONDS + ${MEMCHECK_BUDGET:-240}))
    mkdir -p "$DEST/sanitizer"
    # Globs, not a list: new test files of these areas (test_index_*.cpp, test_softmax_*.cpp) join.
    bins() {
      for pat in "$@"; do
        for b in "$BUILD"/tests/$pat; do
          case $(basename "$b") in *.*) continue ;; esac  # ctest's include files
          [ -f "$b" ] && [ -x "$b" ] && echo "$b"
        done
      done | sort -u
    }
    found=0
    for b in $(bins 'test_reduce*' 'test_softmax*' 'test_*norm*' 'test_index*' 'test_matmul*' 'test_conv*' 'test_graph*' 'test_cuda_*'); do
      found=1
      r=$(sanitize memcheck "$b" "${MEMCHECK_TIMEOUT:-90}" "$DEST/sanitizer/memcheck_$(basename "$b").log")
      case $r in "0 errors"*) note "memcheck  $(basename "$b"): $r" ;; *) fail "memcheck  $(basename "$b"): $r" ;; esac
    done
    for b in $(bins 'test_reduce*' 'test_softmax*' 'test_*norm*' 'test_cuda_kernel_paths'); do
      r=$(sanitize racecheck "$b" "${RACECHECK_TIMEOUT:-60}" "$DEST/sanitizer/racecheck_$(basename "$b").log")
      case $r in "0 errors"*) note "racecheck $(basename "$b"): $r" ;; *) fail "racecheck $(basename "$b"): $r" ;; esac
    done
    [ $found -eq 0 ] && fail "memcheck: no test binaries in $BUILD/tests (build the tests first)"
  fi
fi

BENCH=$BUILD/bench/axon-bench
bench_json() {  # file axon-bench-args...: appends its JSON lines to $DEST/file; returns its exit status
  local file=$1
  shift
  "$BENCH" "$@" --device cuda --json >>"$DEST/$file" 2>>"$DEST/bench.stderr"
}
if want bench; then
  step "axon-bench quick, all, memory, optim, conv, autograd --device cuda"
  if ! has_gpu; then
    note "bench: no GPU: skipped"
  elif [ ! -x "$BENCH" ] || ! built_cuda; then
    fail "bench: no CUDA build of $BENCH"
  else
    "$BENCH" quick --device cuda >"$DEST/bench_quick.txt" 2>&1 || fail "bench: quick exit $?"
    cat "$DEST/bench_quick.txt"
    rc=0
    : >"$DEST/bench_all.jsonl"
    for w in all memory optim conv autograd; do bench_json bench_all.jsonl "$w" || rc=1; done
    tail -5 "$DEST/bench.stderr"
    [ $rc -eq 0 ] && note "bench: ok" || fail "bench: a workload failed or was wrong (see bench.stderr)"
  fi
fi

# The Fashion-MNIST files do not exist on the GPU machine: carry them in data/fashion-mnist
# (git-ignored; `mkdir -p data && cp -r /usr/share/datasets/fashion-mnist data/`).
DATA=$ROOT/data/fashion-mnist
if want train; then
  step "axon-bench w1 w2 (eager and --compile) w6 w7 w5 --device cuda"
  if ! has_gpu; then
    note "train: no GPU: skipped"
  elif [ ! -x "$BENCH" ] || ! built_cuda; then
    fail "train: no CUDA build of $BENCH"
  else
    rc=0
    : >"$DEST/bench_train.jsonl"
    for w in "w1" "w1 --compile" "w2" "w2 --pipeline" "w2 --compile"; do
      # shellcheck disable=SC2086  # $w is a workload and its flags
      bench_json bench_train.jsonl $w --epochs "$TRAIN_EPOCHS" --data "$DATA" || rc=1
    done
    for w in w6 w7 w5; do bench_json bench_train.jsonl $w || rc=1; done
    tail -5 "$DEST/bench.stderr"
    # Whether loading stalls the step: the pipeline run's wait for its batches against its epochs' time.
    wait_line=$(grep '"epoch (pipeline)"' "$DEST/bench_train.jsonl" | grep -oE 'waited [0-9]+ ms of [0-9]+' | tail -1)
    note "train: w2 --pipeline ${wait_line:-gave no wait figure (see bench_train.jsonl)}"
    [ $rc -eq 0 ] && note "train: ok" || fail "train: a workload failed or was wrong (see bench.stderr)"
  fi
fi

if want peer; then
  step "PyTorch peer (bench/peers/torch_gpu.py)"
  TPY=""
  for p in ${TORCH_PYTHON:-} /opt/torch/.venv/bin/python python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c "import torch" >/dev/null 2>&1; then TPY=$p; break; fi
  done
  PDEV=${PEER_DEVICE:-cuda}
  if [ "$PDEV" = cuda ] && ! has_gpu; then
    note "peer: no GPU: skipped"
  elif [ -z "$TPY" ]; then
    note "peer: no python with torch (set TORCH_PYTHON): skipped"
  else
    # shellcheck disable=SC2086  # PEER_ARGS holds flags
    timeout -k 10 "${PEER_TIMEOUT:-300}" "$TPY" "$ROOT/bench/peers/torch_gpu.py" --device "$PDEV" --data "$DATA" \
      --epochs "$TRAIN_EPOCHS" ${PEER_ARGS:-} >"$DEST/peer.jsonl" 2>"$DEST/peer.log"
    rc=$?
    tail -12 "$DEST/peer.log"
    rows=$(grep -c '"value"' "$DEST/peer.jsonl"); errs=$(grep -c '"error"' "$DEST/peer.jsonl")
    msg="peer: $(grep -m1 '^# PyTorch' "$DEST/peer.log" | sed 's/^# //'): $rows figures, $errs errors"
    case $rc in 0) note "$msg" ;; 124|137) note "$msg; TIMED OUT after ${PEER_TIMEOUT:-300}s (see peer.log)" ;;
      *) note "$msg; exit $rc (see peer.log)" ;; esac
  fi
fi

if want syncs; then
  step "syncs: host synchronisations inside a compiled W1 step (nsys)"
  NSYS=$(tool "${NSYS:-}" nsys)
  if ! has_gpu; then
    note "syncs: no GPU: skipped"
  elif [ -z "$NSYS" ]; then
    note "syncs: nsys not found (set NSYS): skipped"
  elif [ ! -x "$BENCH" ] || ! built_cuda; then
    fail "syncs: no CUDA build of $BENCH"
  else
    # Two runs that differ only in their step count: the difference divides out the set-up, the
    # capture, the epoch's ends and the validation pass, leaving what one step costs.
    for s in 20 60; do
      "$NSYS" profile --trace=cuda --sample=none --cpuctxsw=none --force-overwrite=true \
        -o "$DEST/syncs_$s" "$BENCH" w1 --compile --device cuda --epochs 1 --size $s --data "$DATA" \
        >"$DEST/syncs_$s.log" 2>&1 || fail "syncs: axon-bench w1 --compile --size $s under nsys: exit $? (see syncs_$s.log)"
      "$NSYS" stats --force-export=true --report cuda_api_sum --format csv "$DEST/syncs_$s.nsys-rep" >"$DEST/syncs_$s.csv" 2>>"$DEST/syncs_$s.log"
    done
    "$PY" "$ROOT/tools/gpu_check.py" syncs "$DEST/syncs_20.csv" 20 "$DEST/syncs_60.csv" 60 >"$DEST/syncs.txt" 2>&1
    cat "$DEST/syncs.txt"
    note "$(tail -1 "$DEST/syncs.txt")"
  fi
fi

if want examples; then
  step "examples on cuda"
  if ! has_gpu; then
    note "examples: no GPU: skipped"
  else
    rc=0
    "$BUILD/examples/example_quickstart" >"$DEST/examples.txt" 2>&1 || rc=1
    # The C and Fortran embedding examples (as .ci/embed runs them), on the default device: the GPU.
    E=$BUILD/examples
    { "$E/example_embed_model" "$DEST/embed_model.safetensors" "$DEST/embed_expected.txt" &&
      "$E/example_embed_c" "$DEST/embed_model.safetensors" "$DEST/embed_expected.txt"; } >>"$DEST/examples.txt" 2>&1 || rc=1
    if [ -x "$E/example_embed_fortran" ]; then
      "$E/example_embed_fortran" "$DEST/embed_model.safetensors" "$DEST/embed_expected.txt" >>"$DEST/examples.txt" 2>&1 || rc=1
    else
      echo "no Fortran compiler when $BUILD was configured: Fortran embedding example skipped" | tee -a "$DEST/examples.txt"
    fi
    if [ -f "$DATA/train-images-idx3-ubyte.gz" ]; then
      "$BUILD/examples/example_mlp_fashion_mnist" --device cuda --epochs 2 --data "$DATA" >>"$DEST/examples.txt" 2>&1 || rc=1
      for m in mlp cnn; do
        "$BUILD/examples/example_fashion_mnist" --model $m --device cuda --epochs 2 --data "$DATA" \
          >>"$DEST/examples.txt" 2>&1 || rc=1
      done
      (cd "$ROOT" && BUILD_DIR="$BUILD" bash .ci/readme) >>"$DEST/examples.txt" 2>&1 || rc=1  # the README's programs
    else
      echo "no data/fashion-mnist: Fashion-MNIST examples skipped" | tee -a "$DEST/examples.txt"
    fi
    tail -c 3000 "$DEST/examples.txt"
    [ $rc -eq 0 ] && note "examples: ok" || fail "examples: FAILED (see examples.txt)"
  fi
fi

# ---- the summary, last
step "summary"
say "$(cat "$DEST/environment.txt")"
say "stages: $STAGES"
say "$(cat "$DEST/stages.txt")"
say ""
cat "$DEST/bench_all.jsonl" "$DEST/bench_train.jsonl" >"$DEST/axon.jsonl"
if [ -s "$DEST/axon.jsonl" ] || [ -s "$DEST/peer.jsonl" ]; then
  say "axon-bench: $(grep -c '"value"' "$DEST/axon.jsonl") figures, $(grep -c '"ok": false' "$DEST/axon.jsonl") wrong, $(grep -c '"error"' "$DEST/axon.jsonl") errors"
  if [ -n "$PY" ]; then
    "$PY" "$ROOT/tools/gpu_check.py" compare "$DEST/axon.jsonl" "$DEST/peer.jsonl" | tee -a "$SUMMARY"
  else
    tee -a "$SUMMARY" <"$DEST/axon.jsonl"
  fi
fi
say ""
say "logs: $DEST/ (configure.log build.log ctest.log sanitizer/ resources.txt bench_all.jsonl bench_train.jsonl peer.jsonl syncs.txt summary.txt)"
exit $status
