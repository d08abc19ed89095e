#!/usr/bin/env bash
# Checks what axon's shared libraries export (issue 12): libaxon.so the C API (axon_*) and the C++
# API (namespace axon) only, with no internals (axon::detail, axon::kernels, the CUDA backend's
# axon::cuda::capture / deferred / runtime) beyond the few that cmake/libaxon.map names, and no
# third-party symbols (fmt, std, cub, thrust); libaxon_cuda.so its entry point only; and libaxon.so
# no CUDA library among its NEEDED entries. Prints the stray symbols and exits 1 when there are any.
#
#   tools/check_exports.sh [build dir]      (default build/main)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build/main}
LIB=$BUILD/libaxon.so
if [ ! -e "$LIB" ]; then
  echo "check_exports: no $LIB (a static build?): skipped"
  exit 0
fi
status=0

# The internals the map exports on purpose, by their mangled names.
allowed=$(grep -oE '^\s*_ZN4axon6detail[A-Za-z0-9_]+;' "$ROOT/cmake/libaxon.map" | tr -d ' ;' || true)
syms=$(nm -D --defined-only "$LIB" | awk '{print $NF}' | sed 's/@.*//' | sort -u)
api='^(axon_|_Z(T[ISVT]|GV|Th[^N]*|Tv[^N]*)?Z?N[KVRO]*4axon)'
internal='^_Z(T[ISVT]|GV|Th[^N]*|Tv[^N]*)?Z?N[KVRO]*4axon(6detail|7kernels|4cuda(7capture|8deferred|7runtime))'
stray=$( {
  echo "$syms" | grep -vE "$api" || true
  echo "$syms" | grep -E "$internal" | grep -vxF "${allowed:-none}" || true
} | grep -v '^$' || true)
echo "libaxon.so: $(echo "$syms" | wc -l) exported symbols ($(echo "$syms" | grep -c '^axon_' || true) of the C API)"
if [ -n "$stray" ]; then
  echo "libaxon.so exports $(echo "$stray" | wc -l) symbol(s) outside the API (hide them in cmake/libaxon.map):"
  echo "$stray" | c++filt | cut -c1-160 | sed "s/^/  /" | head -40
  status=1
fi

cuda_needed=$(readelf -d "$LIB" | grep NEEDED | grep -oE 'lib(cuda|cudart|cublas|cublasLt|cudnn|nvrtc|nccl|cufft|curand|cusparse|cusolver)[^]]*' || true)
if [ -n "$cuda_needed" ]; then
  echo "libaxon.so links CUDA libraries directly: $cuda_needed (they belong to libaxon_cuda.so)"
  status=1
fi

BACKEND=$BUILD/libaxon_cuda.so
if [ -e "$BACKEND" ]; then
  bsyms=$(nm -D --defined-only "$BACKEND" | awk '{print $NF}' | sed 's/@.*//' | sort -u)
  if [ "$bsyms" != "axon_cuda_backend_v1" ]; then
    echo "libaxon_cuda.so exports more than axon_cuda_backend_v1:"
    echo "$bsyms" | grep -vx axon_cuda_backend_v1 | c++filt | sed 's/^/  /' | head -20
    status=1
  else
    echo "libaxon_cuda.so: exports axon_cuda_backend_v1 only"
  fi
fi
[ $status -eq 0 ] && echo "check_exports: ok"
exit $status
