#!/usr/bin/env bash
# Sets up (packages, build) and runs the whole test suite. [cuda] cases skip, saying so, without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/build.sh
ctest --test-dir build/main --output-on-failure -j "$(nproc)" --timeout 600
