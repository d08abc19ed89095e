#!/usr/bin/env python3
"""Parsers behind tools/gpu_check.sh, kept apart so that each can be tried on the CPU machine.

  gpu_check.py resources USAGE ELF         registers per kernel from `cuobjdump --dump-resource-usage`
                                           (USAGE) and launch bounds from `cuobjdump -elf` (ELF)
  gpu_check.py syncs CSV_A STEPS_A CSV_B STEPS_B
                                           host synchronisations per train step from two `nsys stats
                                           --report cuda_api_sum --format csv` outputs of runs that
                                           differ only in their number of steps
  gpu_check.py compare AXON.jsonl PEER.jsonl
                                           axon-bench --json rows beside the PyTorch peer's rows of the
                                           same run (bench/peers/torch_gpu.py), as a time ratio
Only the standard library: the GPU machine's system python runs it.
"""
import csv
import io
import json
import re
import sys

REGS_PER_BLOCK = 65536  # sm_90 (and every arch since sm_50): registers a block may hold
MAX_BLOCK = 1024


def demangle(names):
    """Demangled names through c++filt when present, else the names as they are."""
    import shutil
    import subprocess
    if not names or not shutil.which("c++filt"):
        return {n: n for n in names}
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
    return dict(zip(names, out)) if len(out) == len(names) else {n: n for n in names}


def parse_usage(text):
    """{kernel: {REG:, STACK:, SHARED:, LOCAL:, arch:}} from --dump-resource-usage (every cubin)."""
    kernels, arch, current = {}, "?", None
    for line in text.splitlines():
        m = re.match(r"\s*arch = (\S+)", line)
        if m:
            arch = m.group(1)
        m = re.match(r"\s*Function (\S+?):?\s*$", line)
        if m:
            current = m.group(1)
            continue
        if current and "REG:" in line:
            fields = dict(re.findall(r"([A-Z_]+(?:\[\d+\])?):(\d+)", line))
            kernels[(current, arch)] = {k: int(v) for k, v in fields.items()}
            current = None
    return kernels


def parse_max_threads(text):
    """{kernel: max threads a block} from `cuobjdump -elf`'s EIATTR_MAX_THREADS (__launch_bounds__)."""
    bounds, current, attr = {}, None, None
    for line in text.splitlines():
        m = re.match(r"\s*\.nv\.info\.(\S+)\s*$", line)
        if m:
            current, attr = m.group(1), None
            continue
        m = re.match(r"\s*Attribute:\s*(\S+)", line)
        if m:
            attr = m.group(1)
            continue
        m = re.match(r"\s*Value:\s*(.*)$", line)
        if m and current and attr == "EIATTR_MAX_THREADS":
            dims = [int(v, 16) for v in m.group(1).split()]
            total = 1
            for d in dims:
                total *= d
            bounds[current] = total
    return bounds


def resources(usage_path, elf_path):
    kernels = parse_usage(open(usage_path, errors="replace").read())
    bounds = parse_max_threads(open(elf_path, errors="replace").read()) if elf_path else {}
    if not kernels:
        print("resources: no kernel found in the resource usage dump")
        return 1
    names = demangle(sorted({k for k, _ in kernels}))
    too_big, over_255, local = [], [], []
    for (k, arch), r in sorted(kernels.items(), key=lambda kv: -kv[1].get("REG", 0)):
        reg = r.get("REG", 0)
        # A block of t threads needs about reg * t registers (allocation granularity aside).
        fits = REGS_PER_BLOCK // reg if reg else MAX_BLOCK
        bound = bounds.get(k)
        if reg * MAX_BLOCK > REGS_PER_BLOCK and not (bound and bound * reg <= REGS_PER_BLOCK):
            too_big.append((reg, fits, bound, k, arch))
        if reg > 255:
            over_255.append((reg, k, arch))
        if r.get("LOCAL", 0) or r.get("STACK", 0):
            local.append((r.get("STACK", 0), r.get("LOCAL", 0), reg, k, arch))
    print(f"resources: {len(kernels)} kernels; {len(too_big)} cannot launch 1024 threads a block; "
          f"{len(over_255)} above 255 registers; {len(local)} with stack or local memory (spills or local arrays)")
    print("  most registers: " + "; ".join(f"{r.get('REG', 0)} {names[k][:60]}" for (k, _), r in
                                            sorted(kernels.items(), key=lambda kv: -kv[1].get("REG", 0))[:4]))
    if too_big:
        print("  kernels whose registers x 1024 threads exceed 65536 (a 1024-thread launch fails with "
              "'too many resources requested'; fine only if every launch uses <= 'fits' threads):")
        for reg, fits, bound, k, arch in too_big:
            print(f"    REG {reg:>3}  fits {fits:>4} threads  launch bound {bound or '-':>4}  {arch}  {names[k][:150]}")
    for reg, k, arch in over_255:
        print(f"  >255 registers: REG {reg} {arch} {names[k][:150]}")
    if local:
        print("  stack / local memory per thread (bytes), the largest first:")
        for stack, loc, reg, k, arch in sorted(local, reverse=True)[:25]:
            print(f"    STACK {stack:>5}  LOCAL {loc:>5}  REG {reg:>3}  {arch}  {names[k][:150]}")
    return 0


def api_calls(path):
    """{API name: calls} from an `nsys stats --report cuda_api_sum --format csv` output."""
    text = open(path, errors="replace").read()
    start = text.find('"Time')
    if start < 0:
        start = text.find("Time")
    if start < 0:
        return {}
    calls = {}
    for row in csv.DictReader(io.StringIO(text[start:])):
        name, num = row.get("Name"), row.get("Num Calls")
        if name and num and num.strip().replace(",", "").isdigit():
            calls[name.strip()] = calls.get(name.strip(), 0) + int(num.replace(",", ""))
    return calls


SYNC_APIS = re.compile(r"^(cudaStreamSynchronize|cudaDeviceSynchronize|cudaEventSynchronize|cudaMemcpy\w*|"
                       r"cudaStreamQuery|cudaMalloc\w*|cudaFree\w*|cudaGraphLaunch|cudaLaunchKernel)(_v\d+)?$")


def syncs(csv_a, steps_a, csv_b, steps_b):
    a, b = api_calls(csv_a), api_calls(csv_b)
    steps_a, steps_b = int(steps_a), int(steps_b)
    if not a or not b:
        print("syncs: no cuda_api_sum table in the nsys output (see syncs_*.csv)")
        return 1
    names = sorted(n for n in set(a) | set(b) if SYNC_APIS.match(n))
    bad = 0
    print(f"syncs: calls per compiled W1 step = (calls at {steps_b} steps - calls at {steps_a} steps) / "
          f"{steps_b - steps_a}; 0 is the goal for synchronising calls, copies and allocations, "
          f"1 cudaGraphLaunch and 0 cudaLaunchKernel a step for a step replayed as one graph")
    for n in names:
        per = (b.get(n, 0) - a.get(n, 0)) / (steps_b - steps_a)
        flag = ""
        if per > 0.05 and re.match(r"cuda(Stream|Device|Event)Synchronize|cudaMemcpy|cudaMalloc|cudaFree", n):
            flag = "  <-- inside the step"
            bad += 1
        print(f"  {n:<32} {a.get(n, 0):>7} / {b.get(n, 0):>7} calls  {per:6.2f} a step{flag}")
    print(f"syncs: {bad} synchronising or allocating API(s) called inside a compiled step")
    return 0


# Units where a larger value is better; for the others (ms, ms/epoch) a smaller one is.
RATE_UNITS = {"TFLOP/s", "GB/s", "tok/s", "img/s"}


def key(row):
    # Training epochs compare per epoch whatever the step count (axon 469 with a partial last batch,
    # PyTorch's recipe 468), everything else at the same size.
    w = row["workload"].lower()
    return (w, row.get("op"), row.get("dtype"), None if w in ("w1", "w2") else row.get("shape"))


def compare(axon_path, peer_path):
    def rows(path):
        out = []
        try:
            for line in open(path, errors="replace"):
                line = line.strip()
                if line.startswith("{"):
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
        except OSError:
            pass
        return out
    axon, peer = rows(axon_path), rows(peer_path)
    peers = {key(r): r for r in peer if "error" not in r}
    impl = next((r.get("impl") for r in peer if r.get("impl")), "no PyTorch peer in this run")
    print(f"axon vs PyTorch, same machine and run; time ratio axon/PyTorch (< 1: axon faster). peer: {impl}")
    print(f"{'wl':<7} {'op':<22} {'dtype':<5} {'size':<28} {'axon':>10} {'PyTorch':>10} {'unit':<9} {'axon/torch':>10}  check")
    seen = set()
    for r in axon:
        if "error" in r:
            print(f"{r['workload']:<7} {r.get('op', ''):<58} axon error: {r['error'][:120]}")
            continue
        p = peers.get(key(r))
        seen.add(key(r))
        ratio = "-"
        if p and p.get("value") and r.get("value"):
            ratio = r["value"] / p["value"] if r["unit"] not in RATE_UNITS else p["value"] / r["value"]
            ratio = f"{ratio:.2f}"
        pv = f"{p['value']:.4g}" if p else "-"
        print(f"{r['workload']:<7} {r['op']:<22} {r['dtype']:<5} {r['shape'][:28]:<28} {r['value']:>10.4g} {pv:>10} "
              f"{r['unit']:<9} {ratio:>10}  {'ok' if r.get('ok') else 'WRONG: ' + r.get('check', '')}")
    for r in peer:
        if "error" in r:
            print(f"{r['workload']:<7} {r.get('op', ''):<58} PyTorch error: {r['error'][:120]}")
        elif key(r) not in seen:
            print(f"{r['workload']:<7} {r['op']:<22} {r['dtype']:<5} {r['shape'][:28]:<28} {'-':>10} {r['value']:>10.4g} "
                  f"{r['unit']:<9} {'-':>10}  PyTorch only")
    return 0


def main(argv):
    cmds = {"resources": (resources, 2), "syncs": (syncs, 4), "compare": (compare, 2)}
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__)
        return 2
    fn, nargs = cmds[argv[1]]
    args = argv[2:] + [None] * (nargs - len(argv[2:]))
    return fn(*args[:nargs])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
