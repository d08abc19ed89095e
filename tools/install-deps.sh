#!/usr/bin/env bash
# Installs what axon builds against from Debian/Ubuntu packages (nothing is downloaded at build time).
# The CUDA toolkit, cuBLAS and cuDNN are not installed here: they come with the machine when present.
set -euo pipefail
# clang + libclang-rt-dev: the 'fuzz' preset (libFuzzer, sanitizers); ccache: CI rebuilds.
pkgs=(cmake ninja-build g++ pkg-config libopenblas-dev libfmt-dev catch2 zlib1g-dev git clang libclang-rt-dev ccache)
pkgs+=(libopenmpi-dev openmpi-bin)  # issue 13: axon::dist over MPI (mpiexec runs the 2-rank tests)
pkgs+=(libonnx-dev libprotobuf-dev protobuf-compiler python3-venv python3-torch python3-torchvision)  # issue 14: ONNX export, .ci/onnx's PyTorch side
pkgs+=(python3-matplotlib python3-venv)  # issue 15: tools/plot_logs.py, .ci/tensorboard's venv (pip install tensorboard)
pkgs+=(gfortran libdlpack-dev libtorch-dev)  # issue 12: the Fortran module and example, DLPack, the LibTorch DLPack peer test
pkgs+=(libdnnl-dev)  # issue 17: oneDNN for CPU f32 convolutions (AXON_DNNL=AUTO uses it when found)
# The Fashion-MNIST files for the training workloads, where the distribution packages them.
optional=(dataset-fashion-mnist)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for p in "${optional[@]}"; do
  if ! dpkg -s "$p" >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 \
      || echo "install-deps: optional package $p not available (training workloads need the Fashion-MNIST files)"
  fi
done
