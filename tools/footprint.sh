#!/usr/bin/env bash
# What linking libaxon costs (issue 12 "Footprint"): the size and NEEDED entries of libaxon.so and
# libaxon_cuda.so, and the resident memory of axon-footprint (tools/footprint.cpp) at the start of
# main(), after a CPU matmul and after a device query. Without a GPU driver the query finds no device
# and maps no CUDA library; with CUDA's stub driver (LD_LIBRARY_PATH holding a libcuda.so.1 from
# cuda/lib64/stubs, as here) it loads libaxon_cuda.so, whose CUDA runtime then finds no device:
# what a GPU node's process pays for the backend before it touches the GPU.
#
#   tools/footprint.sh [build dir]      (default build/main)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build/main}
BIN=$BUILD/bench/axon-footprint
[ -x "$BIN" ] || { echo "footprint: no $BIN (build the axon-footprint target)"; exit 1; }

for lib in "$BUILD"/libaxon.so "$BUILD"/libaxon_cuda.so "$BUILD"/libaxon.a; do
  [ -e "$lib" ] || continue
  real=$(readlink -f "$lib")
  needed=$(readelf -d "$real" 2>/dev/null | grep NEEDED | grep -oE '\[[^]]+\]' | tr -d '[]' | tr '\n' ' ' || true)
  mb=$(awk -v b="$(stat -c %s "$real")" 'BEGIN { printf "%.1f", b / 1e6 }')
  printf '%-16s %6s MB  NEEDED: %s\n' "$(basename "$lib")" "$mb" "${needed:-none}"
done

run() {  # label, env...: the median of three runs of each figure
  local label=$1
  shift
  local out
  out=$(for i in 1 2 3; do env "$@" "$BIN"; done)
  med() { echo "$out" | awk -v k="$1" '$1 == k {print $2}' | sort -n | sed -n 2p; }
  printf '%-34s start of main %7s KiB | after a CPU matmul %7s KiB | after cuda_device_count() %7s KiB (%s devices)\n' \
    "$label" "$(med rss_start_kib)" "$(med rss_after_matmul_kib)" "$(med rss_after_device_query_kib)" "$(med cuda_devices)"
}
run "VmRSS, this machine:"
STUB=""
for c in /usr/local/cuda/lib64/stubs/libcuda.so /usr/local/cuda/targets/*/lib/stubs/libcuda.so; do
  [ -f "$c" ] && { STUB=$c; break; }
done
if [ -n "$STUB" ] && ! ldconfig -p 2>/dev/null | grep -q 'libcuda.so.1 '; then
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  ln -s "$STUB" "$dir/libcuda.so.1"
  run "VmRSS, CUDA's stub driver:" LD_LIBRARY_PATH="$dir:${LD_LIBRARY_PATH:-}"
fi
