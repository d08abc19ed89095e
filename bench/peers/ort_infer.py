#!/usr/bin/env python3
"""ONNX Runtime's side of `axon-bench infer`: times one exported model the way axon-bench times
axon's predict, and prints one JSON line {"median_us", "min_us", "calls"}.

Each call runs the same session on new input values (a ring of 8 random batches copied into one
bound input, as an embedding code refills its buffer every time step) and writes into one bound
output (IOBinding: the results stay in memory the caller owns, like axon's predict with `out`).
Timed in blocks of calls long enough for the clock; the figures are per call.

  ort_infer.py MODEL.onnx --shape 16,64 --threads 1 [--seconds 0.5]
  ort_infer.py MODEL.onnx --shape 16,64 --threads 1 --serve
With --serve it warms up (--seconds), prints {"ready": true}, and then times one round for each
line read from stdin (the line: the round's seconds), one JSON line each, until stdin ends: the way
axon-bench alternates short rounds of axon and ORT in one stretch of time (a shared machine's load
comes and goes within seconds, which separate runs of each land in differently).
Needs `pip install onnxruntime numpy`; exits 3 with a message on stderr when they do not import.
"""
import argparse
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--shape", required=True, help="the input's shape, comma-separated")
    ap.add_argument("--threads", type=int, default=1, help="intra_op_num_threads")
    ap.add_argument("--seconds", type=float, default=0.5, help="timed seconds (after as much warm-up)")
    ap.add_argument("--serve", action="store_true", help="time one round per line of stdin (its seconds)")
    a = ap.parse_args()
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        print(f"ort_infer.py: {e} (pip install onnxruntime numpy)", file=sys.stderr)
        sys.exit(3)

    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    shape = [int(s) for s in a.shape.split(",")]
    rng = np.random.default_rng(0)
    ring = [rng.standard_normal(shape).astype(np.float32) for _ in range(8)]
    x = ort.OrtValue.ortvalue_from_numpy(ring[0].copy())
    out_meta = sess.get_outputs()[0]
    first = sess.run(None, {sess.get_inputs()[0].name: ring[0]})[0]
    y = ort.OrtValue.ortvalue_from_shape_and_type(list(first.shape), np.float32)
    binding = sess.io_binding()
    binding.bind_ortvalue_input(sess.get_inputs()[0].name, x)
    binding.bind_ortvalue_output(out_meta.name, y)

    def calls(n, k0=0):
        for k in range(n):
            x.update_inplace(ring[(k0 + k) % 8])
            sess.run_with_iobinding(binding)

    # Block size: about 2 ms of calls, so the clock's resolution does not matter.
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < a.seconds:
        calls(10, n)
        n += 10
    per = (time.perf_counter() - t0) / n
    block = max(1, int(2e-3 / per))

    def round_(seconds):
        times = []
        t_end = time.perf_counter() + seconds
        while time.perf_counter() < t_end or len(times) < 5:
            t = time.perf_counter()
            calls(block, len(times))
            times.append((time.perf_counter() - t) / block * 1e6)
        times.sort()
        print(json.dumps({"median_us": times[len(times) // 2], "min_us": times[0], "calls": block * len(times)}),
              flush=True)

    if not a.serve:
        round_(a.seconds)
        return
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip():
            round_(float(line))


if __name__ == "__main__":
    main()
