"""The PyTorch peer of axon-bench on a GPU: W1-W7 of bench/WORKLOADS in PyTorch, printed as one JSON
object a line with the keys `axon-bench --json` prints (workload, op, dtype, shape, median_ms, value,
unit, ...), so that tools/gpu_check.py can set each axon row beside PyTorch's from the same run.

  python bench/peers/torch_gpu.py [--only w1,w3] [--epochs 5] [--compile reduce-overhead] [--data DIR]
  python bench/peers/torch_gpu.py --device cpu --small      # a smoke run of every path on a CPU

Timing follows axon-bench: kernels timed between CUDA events after a warm-up, the median of the
repeats; epochs timed between two synchronisations, the upper median of the epochs.
Progress and errors go to stderr; a failing workload prints an {"error": ...} row and the rest go on.
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time
import traceback

import torch
import torch.nn as nn
import torch.nn.functional as F

ARGS = None
DEV = None


def emit(workload, op, dtype, shape, times_ms, value, unit, check="", n=0):
    s = sorted(times_ms)
    k = len(s)
    row = dict(workload=workload, op=op, dtype=dtype, n=n, shape=shape,
               median_ms=round(s[k // 2] if k % 2 else 0.5 * (s[k // 2 - 1] + s[k // 2]), 4),
               p10_ms=round(s[max(0, -(-k // 10) - 1)], 4), p90_ms=round(s[max(0, -(-9 * k // 10) - 1)], 4),
               min_ms=round(s[0], 4), max_ms=round(s[-1], 4), repeats=k, value=float(f"{value:.6g}"), unit=unit,
               ceiling=None, ceiling_what="", peer=None, ok=True, check=check, device=device_name(), commit="peer",
               impl=impl_name())
    print(json.dumps(row), flush=True)


def fail(workload, op, exc):
    traceback.print_exc(file=sys.stderr)
    print(json.dumps(dict(workload=workload, op=op, error=repr(exc)[:300], device=device_name(), commit="peer",
                          impl=impl_name())), flush=True)


def device_name():
    return torch.cuda.get_device_name(DEV) if DEV.type == "cuda" else "cpu"


def impl_name():
    extra = f", CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}" if DEV.type == "cuda" else ""
    return f"PyTorch {torch.__version__}{extra}"


def sync():
    if DEV.type == "cuda":
        torch.cuda.synchronize()


def time_fn(fn, warmup, repeats):
    """Milliseconds of each repeat after the warm-up: CUDA events on a GPU, perf_counter on a CPU."""
    repeats = ARGS.repeats or repeats
    for _ in range(warmup):
        fn()
    sync()
    out = []
    for _ in range(repeats):
        if DEV.type == "cuda":
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            out.append(a.elapsed_time(b))
        else:
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1e3)
    return out


def median(v):
    s = sorted(v)
    return s[len(s) // 2] if len(s) % 2 else 0.5 * (s[len(s) // 2 - 1] + s[len(s) // 2])


def maybe_compile(fn, mode):
    if mode == "eager":
        return fn
    if not hasattr(torch, "compile"):
        raise RuntimeError(f"torch.compile is not in PyTorch {torch.__version__}")
    return torch.compile(fn, mode=mode)


# ---- W3: square GEMM, TFLOP/s = 2 n^3 / time
def w3():
    sides = [256] if ARGS.small else [4096, 8192]
    kinds = [("f32", torch.float32, False), ("f64", torch.float64, False)] if DEV.type == "cpu" else \
        [("f32", torch.float32, False), ("tf32", torch.float32, True), ("bf16", torch.bfloat16, False),
         ("f16", torch.float16, False)]
    for n in sides:
        for name, dt, tf32 in kinds:
            try:
                torch.backends.cuda.matmul.allow_tf32 = tf32
                a = torch.randn(n, n, device=DEV, dtype=dt)
                b = torch.randn(n, n, device=DEV, dtype=dt)
                c = torch.empty(n, n, device=DEV, dtype=dt)
                ts = time_fn(lambda: torch.matmul(a, b, out=c), 3, 10)
                emit("W3", "matmul", name, f"{n}x{n}", ts, 2 * n ** 3 / median(ts) / 1e9, "TFLOP/s", n=n * n)
            except Exception as e:
                fail("W3", f"matmul {name} {n}x{n}", e)
    torch.backends.cuda.matmul.allow_tf32 = False


# ---- W4: memory-bound kernels, GB/s counting the bytes read and written once
def w4():
    n = ARGS.w4_n or ((1 << 20) if ARGS.small else (1 << 28))
    side = int(n ** 0.5)
    reps = 5 if ARGS.small else 20
    try:
        x = torch.randn(n, device=DEV)
        y = torch.randn(n, device=DEV)
        out = torch.empty_like(x)
        z = x[:side * side].view(side, side)
        ln = nn.LayerNorm(side, eps=1e-5).to(DEV)
    except Exception as e:
        return fail("W4", "inputs", e)
    b4 = 4.0 * n
    flat = [("copy", lambda: out.copy_(x), 2 * b4), ("add", lambda: torch.add(x, y, out=out), 3 * b4),
            ("gelu", lambda: F.gelu(x), 2 * b4), ("sum", lambda: x.sum(), b4)]
    rows = [("softmax", lambda: torch.softmax(z, dim=1)), ("layer_norm", lambda: ln(z))]
    for op, fn, nbytes in flat:
        try:
            ts = time_fn(fn, 3, reps)
            emit("W4", op, "f32", f"{n}", ts, nbytes / (median(ts) * 1e-3) / 1e9, "GB/s", n=n)
        except Exception as e:
            fail("W4", op, e)
    with torch.no_grad():
        for op, fn in rows:
            try:
                ts = time_fn(fn, 3, reps)
                emit("W4", op, "f32", f"{side}x{side}", ts, 8.0 * side * side / (median(ts) * 1e-3) / 1e9,
                     "GB/s", n=side * side)
            except Exception as e:
                fail("W4", op, e)
    del x, y, out, z


# ---- W1 / W2: Fashion-MNIST epochs, Adam 1e-3, batch 128, the whole set on the device
def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def fashion():
    def find(name):
        for d in (ARGS.data, "data/fashion-mnist", "/usr/share/datasets/fashion-mnist"):
            if d and os.path.exists(os.path.join(d, name)):
                return os.path.join(d, name)
        raise FileNotFoundError(f"{name}: not in --data, data/fashion-mnist or /usr/share/datasets/fashion-mnist")
    imgs = lambda f: (read_idx(find(f)).float() / 255).to(DEV)
    lbls = lambda f: read_idx(find(f)).long().to(DEV)
    return (imgs("train-images-idx3-ubyte.gz"), lbls("train-labels-idx1-ubyte.gz"),
            imgs("t10k-images-idx3-ubyte.gz"), lbls("t10k-labels-idx1-ubyte.gz"))


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def train(workload, make, image, data, mode, epochs):
    xtr, ytr, xte, yte = data
    if image:
        xtr, xte = xtr.unsqueeze(1), xte.unsqueeze(1)
    torch.manual_seed(0)
    model = make().to(DEV)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss
    fstep = maybe_compile(step, mode)
    batch = 128
    steps = ARGS.steps or xtr.shape[0] // batch  # the recipe drops the last partial batch: 468 steps
    ms = []
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(xtr.shape[0], device=DEV)
        sync()
        t0 = time.perf_counter()
        for i in range(steps):
            j = perm[i * batch:(i + 1) * batch]
            fstep(xtr[j], ytr[j])
        sync()
        ms.append((time.perf_counter() - t0) * 1e3)
    model.eval()
    with torch.no_grad():
        acc = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
                  for i in range(0, xte.shape[0], 1000)) / xte.shape[0]
    # As axon-bench: the upper median of every epoch's time, which leaves out the first (compilation,
    # warm-up) as soon as there are three.
    op = {"eager": "epoch", "reduce-overhead": "epoch (graphed)"}.get(mode, f"epoch (torch.compile {mode})")
    emit(workload, op, "f32", f"{epochs} epoch(s), {steps} steps", ms, sorted(ms)[len(ms) // 2], "ms/epoch",
         check=f"test accuracy {acc:.4f} after {epochs} epoch(s); first epoch {ms[0]:.0f} ms", n=epochs)


def w12(which):
    try:
        data = fashion()
    except Exception as e:
        return fail(which, "data", e)
    if DEV.type == "cuda":
        torch.backends.cudnn.benchmark = True
    make, image = (mlp, False) if which == "w1" else (cnn, True)
    for mode in ["eager"] + [m for m in ARGS.compile.split(",") if m]:
        try:
            train(which, make, image, data, mode, ARGS.epochs)
        except Exception as e:
            fail(which, f"epoch {mode}", e)


# ---- W5: GPT-2 124M training step, bf16 autocast, AdamW
class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.up, self.down = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = (u.view(b, t, self.heads, c // self.heads).transpose(1, 2)
                   for u in self.qkv(self.ln1(x)).split(c, dim=2))
        if hasattr(F, "scaled_dot_product_attention"):
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # PyTorch 1.x (the CPU smoke run)
            w = (q @ k.transpose(-2, -1)) / (c // self.heads) ** 0.5
            w = w.masked_fill(torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
            a = torch.softmax(w, dim=-1) @ v
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, c))
        return x + self.down(F.gelu(self.up(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, d, layers, heads, t):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(t, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.lnf = nn.LayerNorm(d)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        for blk in self.blocks:
            x = blk(x)
        return F.linear(self.lnf(x), self.tok.weight)


def w5():
    vocab, d, layers, heads, t, b = (50304, 768, 12, 12, 1024, 8) if not ARGS.small else (512, 128, 2, 2, 64, 2)
    shape = f"d{d} L{layers} H{heads} T{t} B{b} V{vocab}"
    dtype = "bf16" if DEV.type == "cuda" else "f32"
    for mode in ["eager"] + [m for m in ARGS.w5_compile.split(",") if m]:
        try:
            torch.manual_seed(0)
            model = GPT(vocab, d, layers, heads, t).to(DEV)
            fused = {"fused": True} if DEV.type == "cuda" else {}
            opt = torch.optim.AdamW(model.parameters(), lr=3e-4, **fused)
            idx = torch.randint(0, min(vocab, 50257), (b, t), device=DEV)
            tgt = torch.randint(0, min(vocab, 50257), (b, t), device=DEV)

            def step():
                opt.zero_grad(set_to_none=True)
                with torch.autocast(DEV.type, dtype=torch.bfloat16, enabled=DEV.type == "cuda"):
                    logits = model(idx)
                loss = F.cross_entropy(logits.view(-1, vocab).float(), tgt.view(-1))
                loss.backward()
                opt.step()
            ts = time_fn(maybe_compile(step, mode), 3, 2 if ARGS.small else 10)
            op = "train step" if mode == "eager" else f"train step (torch.compile {mode})"
            emit("w5", op, dtype, shape, ts, b * t / median(ts) * 1e3, "tok/s", n=b * t)
            del model, opt
        except Exception as e:
            fail("w5", f"train step {mode}", e)
        if DEV.type == "cuda":
            torch.cuda.empty_cache()


# ---- W6: 2-layer LSTM forward + backward of sum(outputs)
def w6():
    t = 8 if ARGS.small else 128
    try:
        if DEV.type == "cuda":
            torch.backends.cudnn.benchmark = True
        torch.manual_seed(0)
        m = nn.LSTM(128, 512, num_layers=2, batch_first=True).to(DEV)
        x = torch.randn(64, t, 128, device=DEV)

        def step():
            y, _ = m(x)
            y.sum().backward()
        ts = time_fn(step, 3, 3 if ARGS.small else 20)
        emit("w6", "fwd+bwd", "f32", f"2x512 in128 B64 T{t}", ts, median(ts), "ms", n=64 * t)
    except Exception as e:
        fail("w6", "fwd+bwd", e)


# ---- W7: ResNet-18 on 32x32 images, channels-last, SGD momentum 0.9
def w7():
    try:
        import torchvision
    except Exception as e:
        return fail("w7", "train step", e)
    b = 8 if ARGS.small else 256
    dtype = "bf16" if DEV.type == "cuda" else "f32"
    try:
        if DEV.type == "cuda":
            torch.backends.cudnn.benchmark = True
        torch.manual_seed(0)
        m = torchvision.models.resnet18(num_classes=10).to(DEV).to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        x = torch.randn(b, 3, 32, 32, device=DEV).to(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (b,), device=DEV)

        def step():
            opt.zero_grad(set_to_none=True)
            with torch.autocast(DEV.type, dtype=torch.bfloat16, enabled=DEV.type == "cuda"):
                loss = F.cross_entropy(m(x), y)
            loss.backward()
            opt.step()
        ts = time_fn(step, 5, 3 if ARGS.small else 20)
        emit("w7", "train step", dtype, f"B{b} 32x32x3", ts, b / median(ts) * 1e3, "img/s", n=b)
    except Exception as e:
        fail("w7", "train step", e)


def main(argv=None):
    global ARGS, DEV
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--only", default="w3,w4,w1,w2,w6,w7,w5", help="comma-separated workloads, in this order")
    ap.add_argument("--epochs", type=int, default=3, help="W1/W2 epochs (the figure: their upper median)")
    ap.add_argument("--steps", type=int, default=0, help="W1/W2 steps an epoch (0: the whole epoch, 468)")
    ap.add_argument("--compile", default="reduce-overhead",
                    help="W1/W2 torch.compile modes beside eager (comma-separated, '' for none)")
    ap.add_argument("--w5-compile", default="", help="W5 torch.compile modes beside eager (a minute or two each)")
    ap.add_argument("--w4-n", type=int, default=0, help="W4 element count (default 2^28)")
    ap.add_argument("--data", default="", help="the Fashion-MNIST folder")
    ap.add_argument("--small", action="store_true", help="tiny sizes: checks every path, measures nothing")
    ap.add_argument("--repeats", type=int, default=0, help="timed repeats of W3-W7 (0: each workload's own)")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (torch.set_num_threads; 0: PyTorch's)")
    ARGS = ap.parse_args(argv)
    if ARGS.threads:
        torch.set_num_threads(ARGS.threads)
    DEV = torch.device(ARGS.device)
    if DEV.type == "cuda" and not torch.cuda.is_available():
        print(json.dumps(dict(workload="peer", op="setup", error="no CUDA device visible to PyTorch",
                              device="none", commit="peer")), flush=True)
        return 1
    threads = f", {torch.get_num_threads()} threads" if DEV.type == "cpu" else ""
    print(f"# {impl_name()} on {device_name()}{threads}", file=sys.stderr, flush=True)
    runs = {"w1": lambda: w12("w1"), "w2": lambda: w12("w2"), "w3": w3, "w4": w4, "w5": w5, "w6": w6, "w7": w7}
    for w in [w for w in ARGS.only.split(",") if w]:
        t0 = time.time()
        runs[w]()
        print(f"# {w}: {time.time() - t0:.1f} s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
