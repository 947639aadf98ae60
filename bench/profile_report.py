#!/usr/bin/python3
"""Prints bench/profile.sh's tables: per phase, the ops network's sections (ms per batch), the oneDNN primitives
libnd4j ran inside them, and PyTorch's top-level operators, each with its share of the batch.

usage: profile_report.py DIR WARMUP BATCHES
"""
import collections
import json
import os
import re
import sys


def load(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def onednn(path, warmup, batches):
    """ms per batch of each primitive kind over the measured batches (the warm-up batches' lines dropped)."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        # dnnl_verbose: libnd4j's oneDNN; onednn_verbose: oneDNN's own library, which the ops network drives directly
        lines = [l.strip().split(",") for l in f if l.startswith(("dnnl_verbose,exec", "onednn_verbose,exec"))]
    if not lines:
        return {}
    skip = len(lines) * warmup // (warmup + batches)
    totals = collections.OrderedDict()
    for f in lines[skip:]:
        primitive, impl, prop, mds, problem, ms = f[3], f[4], f[5], f[6], f[-2], float(f[-1])
        origin = "" if f[0] == "dnnl_verbose" else "direct "
        if primitive == "reorder":
            tags = re.findall(r"(src|dst)_f32::blocked:([A-Za-z0-9]+)", mds)
            label = "%sreorder %s %s" % (origin, problem, " -> ".join(t for _, t in tags))
        else:
            channels = re.search(r"ic(\d+)oc(\d+)", problem)
            shape = "ic%s oc%s" % channels.groups() if channels else problem
            label = "%s%s %s %s (%s)" % (origin, primitive, prop.replace("forward_", "fwd_"), shape, impl)
        totals[label] = totals.get(label, 0.0) + ms
    return {k: v / batches for k, v in totals.items()}


def table(title, rows, batch):
    print(title)
    for name, ms in rows.items():
        print("  %-66s %8.2f ms  %5.1f%%" % (name[:66], ms, 100 * ms / batch if batch else 0))


def main():
    out, warmup, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for phase in ("training", "featurizing", "head"):
        mine = load(os.path.join(out, "dl4j-%s.json" % phase))
        if mine is None:
            continue
        theirs = load(os.path.join(out, "pytorch-%s.json" % phase))
        n = mine["batchSize"]
        print("## %s, batch %d, %s, build %s, %d threads%s" % (phase, n, mine["dataset"], mine["build"], mine["threads"],
                                                             ", " + os.environ["BENCH_ISA"] if os.environ.get("BENCH_ISA") else ""))
        print()
        line = "DL4J ops network: %.2f ms per batch (%.0f images/s)" % (mine["batchMillis"],
                                                                        1000 * n / mine["batchMillis"])
        if theirs:
            line += "; PyTorch: %.2f ms (%.0f images/s); DL4J/PyTorch %.2fx" % (
                theirs["batchMillis"], 1000 * n / theirs["batchMillis"], theirs["batchMillis"] / mine["batchMillis"])
        print(line)
        print()
        print("```")
        table("DL4J sections (ms per batch, share of the batch)", mine["sectionMillis"], mine["batchMillis"])
        prims = onednn(os.path.join(out, "onednn-%s.csv" % phase), warmup, batches)
        if prims:
            print()
            table("  inside them, oneDNN primitives (DNNL_VERBOSE run; its batch: %.2f ms)"
                  % load(os.path.join(out, "dl4j-%s-verbose.json" % phase))["batchMillis"], prims,
                  mine["batchMillis"])
        if theirs:
            print()
            rows = {k: v for k, v in theirs["sectionMillis"].items() if v >= 0.05}
            table("PyTorch top-level operators (torch.profiler; ms per batch, share of its batch)", rows,
                  theirs["batchMillis"])
        print("```")
        print()


if __name__ == "__main__":
    main()
