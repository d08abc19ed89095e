#!/usr/bin/env python3
"""Draws the curves of an axon CSV log (csv_logger) to a PNG: one panel per metric, its
validation_ twin on the same axes, and the learning rate when the log has one.

    tools/plot_logs.py run/log.csv                # writes run/log.png
    tools/plot_logs.py run/log.csv -o curves.png --x iteration

The x axis is the epoch for per-epoch logs and the iteration (batches done) for logs written every
N batches, unless --x says otherwise.
"""
import argparse
import csv
import math
import os
import sys

FIXED = ("epoch", "batch", "iteration", "seconds", "learning_rate")


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"plot_logs: {path} has no rows")
    return rows


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", help="a log written by axon::training::csv_logger")
    ap.add_argument("-o", "--output", help="the PNG to write (default: the CSV's name with .png)")
    ap.add_argument("--x", choices=["epoch", "iteration"], help="the x axis (default: from the log)")
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read(args.csv)
    columns = list(rows[0].keys())
    per_epoch = len({r["epoch"] for r in rows}) == len(rows)
    x_name = args.x or ("epoch" if per_epoch else "iteration")
    xs = [number(r[x_name]) for r in rows]

    metrics = [c for c in columns if c not in FIXED and not c.startswith("validation_")]
    # A validation metric whose training twin is absent gets a panel of its own.
    metrics += [c for c in columns if c.startswith("validation_") and c[len("validation_"):] not in metrics]
    panels = [(m, [m] + ([f"validation_{m}"] if f"validation_{m}" in columns else [])) for m in metrics]
    if "learning_rate" in columns:
        panels.append(("learning_rate", ["learning_rate"]))

    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.6 * len(panels)), sharex=True, squeeze=False)
    for ax, (title, series) in zip(axes[:, 0], panels):
        for name in series:
            ax.plot(xs, [number(r[name]) for r in rows], marker="o" if len(rows) <= 30 else None, label=name)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend()
    axes[-1, 0].set_xlabel(x_name)
    fig.tight_layout()
    out = args.output or os.path.splitext(args.csv)[0] + ".png"
    fig.savefig(out, dpi=100)
    print(f"plot_logs: wrote {out} ({len(panels)} panels, {len(rows)} rows)")


if __name__ == "__main__":
    main()
