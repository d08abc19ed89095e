#!/usr/bin/env bash
# axon against LibTorch / PyTorch on the CPU, measured side by side: builds axon-bench and the peers of
# bench/peers/, then runs each workload ROUNDS times, axon and its peer one after the other (the order
# alternating from round to round, so that neither always runs on a warmer or quieter machine), and
# prints the best time of each and their ratio. Only ratios from one run of this script compare.
#
#   tools/compare_cpu.sh                          W1, W2 (LibTorch C++), W6, W7 (PyTorch), 3 rounds
#   WORKLOADS="w1 w6" ROUNDS=5 OUT=/tmp/cmp tools/compare_cpu.sh
#
# Peers run as a user would run Debian's torch: OPENBLAS_NUM_THREADS=1 (its OpenMP threads each
# calling a threaded OpenBLAS oversubscribe the cores: 10x slower) and THREADS (default: every core)
# intra-op threads. Needs libtorch-dev (W1/W2) and python3-torch + python3-torchvision (W6/W7):
#   apt-get install libtorch-dev python3-torch python3-torchvision
# Environment: BUILD_DIR (axon's CPU build, default build/cpu), PEER_BUILD (default build/peers),
# ROUNDS (3), EPOCHS (W1/W2 epochs a run, 2), REPEATS (W6/W7 timed steps a run, 5), RUN_TIMEOUT (s a
# run, 1200), THREADS, OUT (default build/compare_cpu), DATA,
# PEER_PYTHON (a python that imports torch and torchvision; default python3, then /usr/bin/python3),
# PEER2_PYTHON (optional: a second PyTorch, e.g. a venv with pip's torch, run on every workload by
# bench/peers/torch_gpu.py --device cpu; its library path is extended by the pip nvidia-* packages it
# needs to import on a machine without a GPU).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD_DIR:-build/cpu}
PEER_BUILD=${PEER_BUILD:-build/peers}
ROUNDS=${ROUNDS:-3}
EPOCHS=${EPOCHS:-2}
REPEATS=${REPEATS:-5}
RUN_TIMEOUT=${RUN_TIMEOUT:-1200}
THREADS=${THREADS:-$(nproc)}
WORKLOADS=${WORKLOADS:-w1 w2 w6 w7}
OUT=${OUT:-build/compare_cpu}
DATA=${DATA:-data/fashion-mnist}
[ -f "$DATA/train-images-idx3-ubyte.gz" ] || DATA=/usr/share/datasets/fashion-mnist
mkdir -p "$OUT"
RESULTS=$OUT/compare_cpu.jsonl
LOG=$OUT/compare_cpu.log
: >"$RESULTS"
: >"$LOG"

echo "== building axon-bench ($BUILD) and the LibTorch peer ($PEER_BUILD)"
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAXON_CUDA=OFF >>"$LOG" 2>&1 || { echo "configure failed: $LOG"; exit 1; }
fi
cmake --build "$BUILD" --target axon-bench >>"$LOG" 2>&1 || { echo "axon-bench build failed: $LOG"; exit 1; }
BENCH=$BUILD/bench/axon-bench
LIBTORCH=""
if cmake -S bench/peers -B "$PEER_BUILD" -DCMAKE_BUILD_TYPE=Release >>"$LOG" 2>&1 &&
   cmake --build "$PEER_BUILD" >>"$LOG" 2>&1; then
  LIBTORCH=$PEER_BUILD/libtorch_w12
else
  echo "the LibTorch peer did not build (apt-get install libtorch-dev?): W1/W2 run without a peer; see $LOG"
fi
PYTORCH_OK=0
for PEER_PY in ${PEER_PYTHON:-} python3 /usr/bin/python3; do  # pyenv's python3 may lack Debian's torch
  if "$PEER_PY" -c "import torch, torchvision" >/dev/null 2>&1; then PYTORCH_OK=1; break; fi
done
[ $PYTORCH_OK -eq 1 ] || echo "no python3-torch / python3-torchvision: W6/W7 run without a peer"
PEER2_ENV=()
if [ -n "${PEER2_PYTHON:-}" ]; then
  # pip's torch links its CUDA libraries even when it runs on the CPU: put the nvidia-* wheels' lib
  # folders (and the system CUDA's) on the library path so that `import torch` works without a GPU.
  site=$("$PEER2_PYTHON" -c 'import site; print(site.getsitepackages()[0])' 2>/dev/null)
  libs=$(ls -d "$site"/nvidia/*/lib /usr/local/cuda/lib64 2>/dev/null | tr '\n' ':')
  PEER2_ENV=(env "LD_LIBRARY_PATH=${libs}${LD_LIBRARY_PATH:-}")
  if ! "${PEER2_ENV[@]}" "$PEER2_PYTHON" -c "import torch, torchvision" >>"$LOG" 2>&1; then
    echo "PEER2_PYTHON=$PEER2_PYTHON does not import torch and torchvision: no second peer; see $LOG"
    PEER2_PYTHON=""
  fi
fi

# The peers of a workload: LibTorch C++ for W1/W2, Debian's PyTorch for W6/W7, and the second
# PyTorch (PEER2_PYTHON) for every workload.
peers_of() {
  case $1 in w1|w2) [ -n "$LIBTORCH" ] && echo libtorch ;; *) [ $PYTORCH_OK -eq 1 ] && echo torch ;; esac
  [ -n "${PEER2_PYTHON:-}" ] && echo torch2
  return 0
}

# One run of a workload by axon or by one of its peers (who), as a JSON line tagged with the round;
# a run that fails leaves an {"error"} line.
run() {
  local who=$1 w=$2 r=$3 line rc
  local cmd=()
  case $who:$w in
    axon:w1|axon:w2) cmd=("$BENCH" "$w" --device cpu --json --epochs "$EPOCHS" --data "$DATA") ;;
    axon:*) cmd=("$BENCH" "$w" --device cpu --json --warmup 2 --repeats "$REPEATS") ;;
    libtorch:*) cmd=(env OPENBLAS_NUM_THREADS=1 "$LIBTORCH" "$w" --epochs "$EPOCHS" --threads "$THREADS" --data "$DATA") ;;
    torch:*) cmd=(env OPENBLAS_NUM_THREADS=1 "$PEER_PY" bench/peers/torch_cpu_w67.py --only "$w" --threads "$THREADS" --repeats "$REPEATS") ;;
    torch2:*) cmd=("${PEER2_ENV[@]}" OPENBLAS_NUM_THREADS=1 "$PEER2_PYTHON" bench/peers/torch_gpu.py --device cpu --compile ""
                   --only "$w" --threads "$THREADS" --repeats "$REPEATS" --epochs "$EPOCHS" --data "$DATA") ;;
  esac
  echo "round $r: ${cmd[*]}" >>"$LOG"
  timeout -k 10 "$RUN_TIMEOUT" "${cmd[@]}" >"$OUT/last_run.txt" 2>>"$LOG"
  rc=$?
  if [ $rc -eq 124 ]; then rc="timed out after ${RUN_TIMEOUT}s"; else rc="exit $rc"; fi
  line=$(grep '^{' "$OUT/last_run.txt" | grep -v '"error"' | tail -1)
  grep -v '^{' "$OUT/last_run.txt" >>"$LOG"
  if [ -z "$line" ]; then
    line="{\"workload\": \"$w\", \"error\": \"$rc, see $LOG\"}"
  fi
  printf '{"round": %d, "who": "%s", "row": %s}\n' "$r" "$who" "$line" | tee -a "$RESULTS" >/dev/null
  printf '  round %d %-8s %-3s %s\n' "$r" "$who" "$w" "$(echo "$line" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("error") or "%.1f ms best, %s %s" % (d["min_ms"], d["value"], d["unit"]))')"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== $ROUNDS round(s) of: $WORKLOADS; load average before: $LOAD_BEFORE"
for r in $(seq 1 "$ROUNDS"); do
  for w in $WORKLOADS; do
    order="axon $(peers_of "$w")"
    # Odd rounds run axon first, even rounds last, so that neither side always meets the warmer machine.
    [ $((r % 2)) -eq 1 ] || order="$(peers_of "$w") axon"
    for who in $order; do run "$who" "$w" "$r"; done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "tools/compare_cpu.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
  echo "command: ${PEER2_PYTHON:+PEER2_PYTHON=<pip torch> }ROUNDS=$ROUNDS EPOCHS=$EPOCHS REPEATS=$REPEATS THREADS=$THREADS WORKLOADS=\"$WORKLOADS\" tools/compare_cpu.sh"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average before: $LOAD_BEFORE, after: $LOAD_AFTER"
  python3 - "$RESULTS" <<'PY'
import json, sys
runs = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    runs.setdefault((d["row"]["workload"].lower(), d["who"]), []).append(d["row"])
good = lambda rs: [r for r in rs if "error" not in r and r.get("ok", True)]
best = lambda rs: min(r["min_ms"] for r in rs) if rs else None
times = lambda rs: " ".join("%.0f" % r["min_ms"] for r in rs)
fmt = lambda v: f"{v:.1f}" if v else "-"
print("best of the rounds (time of the best epoch / step); ratio = axon time / peer time (< 1: axon faster)")
print(f"{'wl':<4} {'who':<8} {'what':<22} {'best ms':>9} {'axon/it':>8}  {'implementation':<40} runs (ms)")
for w in sorted({k[0] for k in runs}):
    ba = best(good(runs.get((w, "axon"), [])))
    peer_best = {}
    for who in ["axon", "libtorch", "torch", "torch2"]:
        rs = runs.get((w, who))
        if rs is None:
            continue
        ok = good(rs)
        b = best(ok)
        if who != "axon" and b:
            peer_best[who] = b
        what = (ok or [{"op": "?"}])[0]
        ratio = f"{ba / b:.2f}" if ba and b and who != "axon" else ""
        impl = (ok[0].get("impl") or ("axon " + ok[0].get("commit", ""))) if ok else "-"
        errs = [r.get("error") or "WRONG: " + r.get("check", "") for r in rs if "error" in r or not r.get("ok", True)]
        label = what["op"] + " " + what.get("dtype", "")
        print(f"{w:<4} {who:<8} {label:<22} {fmt(b):>9} {ratio:>8}  {impl[:40]:<40} {times(ok)}"
              + (f"  ERRORS: {errs[:2]}" if errs else ""))
        if ok and ok[0].get("check"):
            print(f"{'':<14}check: {ok[0]['check']}")
    if ba and peer_best:
        who, b = min(peer_best.items(), key=lambda kv: kv[1])
        print(f"{w:<4} => axon / fastest peer ({who}) = {ba / b:.2f}: axon {b / ba:.2f}x {'faster' if ba < b else 'slower'}")
PY
} | tee "$OUT/compare_cpu.txt"
