#!/usr/bin/env bash
# Sets up (packages, build) and runs the quick benchmarks: on the GPU when one is present, else the CPU.
# Extra arguments go to axon-bench (e.g. `tools/bench.sh all --device cuda --json`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/build.sh >/dev/null
if [ $# -eq 0 ]; then set -- quick; fi
exec ./build/main/bench/axon-bench "$@"
