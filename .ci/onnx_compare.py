"""Runs every model axon-onnx-check exported under onnxruntime and compares with axon's outputs:
max |ort - axon| <= 1e-5 (absolute, f32). Each model also runs on the first half of the
batch, to check that the batch dim is symbolic."""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402

TOL = 1e-5


def main(out_dir):
    names = sorted(f[:-5] for f in os.listdir(out_dir) if f.endswith(".onnx") and not f.startswith("torch_"))
    assert names, f"no exported models in {out_dir}"
    failed = []
    for name in names:
        try:
            ok = compare(out_dir, name)
        except Exception as e:  # noqa: BLE001 -- report every model, then fail
            print(f"FAIL {name}: {e}")
            ok = False
        if not ok:
            failed.append(name)
    if failed:
        sys.exit(f"onnxruntime disagrees with axon on: {', '.join(failed)}")


def compare(out_dir, name):
    path = os.path.join(out_dir, name + ".onnx")
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)  # with shape inference
    io = safetensors_np.load(os.path.join(out_dir, name + ".safetensors"))
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    got = sess.run(None, {inp.name: io["input"]})[0]
    half = sess.run(None, {inp.name: io["input"][:2]})[0]
    ref = io["output"]
    diff = float(np.max(np.abs(got - ref)))
    scale = float(np.max(np.abs(ref)))
    ok = got.shape == ref.shape and diff <= TOL and float(np.max(np.abs(half - ref[:2]))) <= TOL
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"{'ok  ' if ok else 'FAIL'} {name:16s} input {inp.name}{list(io['input'].shape)} "
          f"batch dim {inp.shape[0]!r}: max |ort - axon| = {diff:.3g} (outputs up to {scale:.3g}); ops: {' '.join(ops)}")
    return ok


if __name__ == "__main__":
    main(sys.argv[1])
