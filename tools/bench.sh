#!/usr/bin/env bash
# Sets up (packages, build) and runs the main job: the quick benchmarks (W3 GEMM, W4 memory-bound
# kernels at small sizes) and, when Fashion-MNIST is installed, one W1 training epoch with its test
# accuracy; on the GPU when one is present, else the CPU. Each table ends with a line per workload
# saying what its rows measure and against what (docs/workloads.md has the definitions).
# Extra arguments go to axon-bench instead (e.g. `tools/bench.sh all --device cuda --json`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
echo "== building axon in build/main (a first build takes about 10 minutes on 2 cores; ninja shows [done/total])"
bash tools/build.sh
bench=./build/main/bench/axon-bench
if [ $# -gt 0 ]; then exec "$bench" "$@"; fi
echo "== axon-bench quick"
"$bench" quick
if [ -f data/fashion-mnist/train-images-idx3-ubyte.gz ] || [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "== axon-bench w1 --epochs 1: one epoch of the seed MLP on Fashion-MNIST, with its test accuracy"
  "$bench" w1 --epochs 1
else
  echo "== W1 skipped: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
fi
