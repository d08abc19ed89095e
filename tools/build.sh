#!/usr/bin/env bash
# Configures and builds axon in build/main: with CUDA when nvcc is found (AXON_CUDA=AUTO), else CPU only.
# Usage: tools/build.sh [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
jobs=$(nproc)
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B build/main -G Ninja -DCMAKE_BUILD_TYPE=Release -DAXON_CUDA=AUTO "${launcher[@]}" "$@"
cmake --build build/main -j "$jobs"
