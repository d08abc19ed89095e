#!/usr/bin/env bash
# Small-batch inference, axon against ONNX Runtime, in one run (issue 17): builds axon-bench (with
# axon::onnx, which exports the models), makes a venv with pip's onnxruntime if there is none, and
# runs `axon-bench infer --threads T --ort-python VENV/bin/python` for each thread count. axon-bench
# times axon's predict and bench/peers/ort_infer.py (intra_op_num_threads = T) round by round,
# alternating which goes first, and prints the best median of each and their ratio. Only ratios
# from one run compare.
#
#   tools/compare_infer.sh                       threads 1 and 2, 9 rounds
#   THREADS="1" ROUNDS=15 tools/compare_infer.sh
#
# Environment: BUILD_DIR (default build/cpu), VENV (default build/ort-venv; created over
# /usr/bin/python3 with `pip install onnxruntime numpy`), THREADS ("1 2"), ROUNDS (9), OUT (default
# build/compare_infer: each table and the log).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD_DIR:-build/cpu}
VENV=${VENV:-build/ort-venv}
THREADS=${THREADS:-1 2}
ROUNDS=${ROUNDS:-9}
OUT=${OUT:-build/compare_infer}
mkdir -p "$OUT"
LOG=$OUT/compare_infer.log
: >"$LOG"

echo "== building axon-bench ($BUILD)"
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAXON_CUDA=OFF >>"$LOG" 2>&1 || { echo "configure failed: $LOG"; exit 1; }
fi
cmake --build "$BUILD" --target axon-bench >>"$LOG" 2>&1 || { echo "axon-bench build failed: $LOG"; exit 1; }

ORT=()
if ! "$VENV/bin/python" -c "import onnxruntime, numpy" >/dev/null 2>&1; then
  echo "== creating $VENV with pip's onnxruntime and numpy"
  py=/usr/bin/python3
  [ -x "$py" ] || py=python3
  { "$py" -m venv "$VENV" && "$VENV/bin/pip" install -q onnxruntime numpy; } >>"$LOG" 2>&1
fi
if "$VENV/bin/python" -c "import onnxruntime, numpy" >/dev/null 2>&1; then
  ORT=(--ort-python "$VENV/bin/python")
  echo "onnxruntime $("$VENV/bin/python" -c 'import onnxruntime; print(onnxruntime.__version__)')"
else
  echo "no onnxruntime (pip install onnxruntime numpy into $VENV failed: $LOG): axon's figures only"
fi

rc=0
for t in $THREADS; do
  echo
  "$BUILD/bench/axon-bench" infer --threads "$t" --repeats "$ROUNDS" "${ORT[@]}" | tee "$OUT/threads_$t.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
done
exit $rc
