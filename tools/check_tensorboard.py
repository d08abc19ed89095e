#!/usr/bin/env python3
"""Reads an axon TensorBoard event directory back with TensorBoard's own reader (EventAccumulator)
and checks it against the run's CSV log: the same tags, steps (epochs from 1) and values (as
float32, the event files' scalar type). Usage: check_tensorboard.py <tb dir> <log.csv>"""
import csv
import struct
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def f32(x):
    return struct.unpack("f", struct.pack("f", float(x)))[0]


def main():
    logdir, csv_path = sys.argv[1], sys.argv[2]
    acc = EventAccumulator(logdir, size_guidance={"scalars": 0})
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    expected = {c for c in rows[0] if c not in ("epoch", "batch", "iteration", "seconds")}
    if tags != expected:
        sys.exit(f"check_tensorboard: tags {sorted(tags)} differ from the CSV's columns {sorted(expected)}")
    for tag in sorted(tags):
        events = acc.Scalars(tag)
        steps = [e.step for e in events]
        want_steps = [int(r["epoch"]) for r in rows]
        if steps != want_steps:
            sys.exit(f"check_tensorboard: {tag}: steps {steps}, expected {want_steps}")
        for e, r in zip(events, rows):
            if f32(e.value) != f32(r[tag]):
                sys.exit(f"check_tensorboard: {tag} at step {e.step}: {e.value} in the event file, {r[tag]} in the CSV")
    print(f"check_tensorboard: {len(tags)} tags x {len(rows)} steps read back by TensorBoard match the CSV: "
          + ", ".join(sorted(tags)))


if __name__ == "__main__":
    main()
