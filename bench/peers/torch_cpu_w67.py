"""The PyTorch peer of axon-bench's W6 (2-layer LSTM forward + backward) and W7 (ResNet-18 training
step, f32 on the CPU), for tools/compare_cpu.sh: the workloads of torch_gpu.py run on the CPU with
PyTorch configured as a user would run Debian's python3-torch.

  OPENBLAS_NUM_THREADS=1 python3 bench/peers/torch_cpu_w67.py [--only w6,w7] [--threads 2] [--repeats 5]

Debian's torch runs its own OpenMP threads; a threaded OpenBLAS inside each of them oversubscribes the
cores and makes PyTorch several times slower than it is, so OPENBLAS_NUM_THREADS is set to 1 before
torch loads OpenBLAS (an explicit setting in the environment wins).
"""
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch_gpu  # noqa: E402  (after the environment is set)

if __name__ == "__main__":
    defaults = ["--device", "cpu", "--only", "w6,w7", "--threads", "2", "--repeats", "5"]
    sys.exit(torch_gpu.main(defaults + sys.argv[1:]))
