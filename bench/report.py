#!/usr/bin/python3
"""Puts the Java benchmark's JSON beside the PyTorch reference's: one table on stdout, CSV and Markdown files.

usage: bench/report.py DL4J_JSON PYTORCH_JSON CSV_OUT [MARKDOWN_OUT]
The environment variable BENCH_DATA, when set, describes the data in the table's header (run.sh sets it), and
BENCH_ISA the instruction set both ran at when it was capped (run.sh --isa avx2). JSON merged from several
rounds (bench/merge_rounds.py) adds a column: the lowest and highest of the round-by-round DL4J/PyTorch ratios.
"""
import csv
import json
import os
import sys

EPOCH_PHASES = [
    ("base", "base model, full training"),
    ("transfer-plain", "model 2, frozen features, full forward each batch"),
    ("transfer-head", "model 2, head on pre-computed features"),
    ("scratch", "scratch baseline, full training"),
]


def phases(result):
    return {p["phase"]: p for p in result["phases"]}


def rate(p):
    if p is None:
        return None
    if "epochSeconds" in p:
        return p["images"] * len(p["epochSeconds"]) / sum(p["epochSeconds"])
    return p["images"] / p["seconds"]


def seconds(p):
    if p is None:
        return None
    if "epochSeconds" in p:
        return sum(p["epochSeconds"]) / len(p["epochSeconds"])
    return p["seconds"]


def transfer_share(ph, with_validation=False):
    """Model 2's whole featurized training (featurize the training images once + every head epoch) over the
    base's training time; both without validation, unless with_validation adds featurizing the test images."""
    try:
        seconds = ph["featurize"]["seconds"] + sum(ph["transfer-head"]["epochSeconds"])
        if with_validation:
            seconds += ph["featurize-validation"]["seconds"]
        return seconds / sum(ph["base"]["epochSeconds"])
    except KeyError:
        return None


def paired_rounds(dl4j, torch):
    """Each round's phases of both frameworks, as (DL4J, PyTorch) pairs; [] unless both ran the same rounds."""
    a, b = dl4j.get("roundPhases"), torch.get("roundPhases")
    if not a or not b or len(a) != len(b):
        return []
    return [({p["phase"]: p for p in x}, {p["phase"]: p for p in y}) for x, y in zip(a, b)]


def ratio_range(paired, key):
    ratios = [rate(d.get(key)) / rate(t.get(key)) for d, t in paired
              if rate(d.get(key)) and rate(t.get(key))]
    return (min(ratios), max(ratios)) if ratios else None


def share_range(paired, side, with_validation):
    shares = [transfer_share(pair[side], with_validation) for pair in paired]
    shares = [s for s in shares if s is not None]
    return (min(shares), max(shares)) if shares else None


def fmt_range(r, pattern):
    return "-" if r is None else pattern.format(r[0]) + "-" + pattern.format(r[1])


def fmt(v, pattern="{:,.0f}"):
    return "-" if v is None else pattern.format(v)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    dl4j = json.load(open(sys.argv[1]))
    torch = json.load(open(sys.argv[2])) if sys.argv[2] != "-" else {"framework": "PyTorch (not run)", "phases": []}
    d, t = phases(dl4j), phases(torch)
    rows = []
    for key, label in EPOCH_PHASES + [("featurize", "featurize training images once (forward only)"),
                                      ("featurize-validation", "featurize test images once (validation)")]:
        rd, rt = rate(d.get(key)), rate(t.get(key))
        rows.append({"phase": key, "label": label, "dl4j_images_per_s": rd, "pytorch_images_per_s": rt,
                     "dl4j_over_pytorch": rd / rt if rd and rt else None,
                     "dl4j_seconds": seconds(d.get(key)), "pytorch_seconds": seconds(t.get(key))})
    ev_d, ev_t = d.get("evaluation"), t.get("evaluation")
    rows.append({"phase": "evaluation", "label": "test-set evaluation, %s images" % (ev_d or {}).get("images", "?"),
                 "dl4j_images_per_s": rate(ev_d), "pytorch_images_per_s": rate(ev_t),
                 "dl4j_over_pytorch": rate(ev_d) / rate(ev_t) if ev_d and ev_t else None,
                 "dl4j_seconds": seconds(ev_d), "pytorch_seconds": seconds(ev_t)})
    if "base-layer-api" in d:
        p = d["base-layer-api"]
        rows.append({"phase": "base-layer-api", "label": "base model, DL4J layer API (%d images)" % p["images"],
                     "dl4j_images_per_s": rate(p), "pytorch_images_per_s": None,
                     "dl4j_over_pytorch": rate(p) / rate(t["base"]) if "base" in t else None,
                     "dl4j_seconds": None, "pytorch_seconds": None})

    paired = paired_rounds(dl4j, torch)
    for r in rows:
        r["per_round"] = ratio_range(paired, r["phase"])
    extra = " | %13s" % "per round" if paired else ""
    head = "%-52s | %12s | %12s | %9s | %10s | %10s" % ("phase", "DL4J img/s", "PyTorch img/s", "DL4J/PyT",
                                                        "DL4J s", "PyTorch s") + extra
    lines = [
        "DL4J:    %s, build %s, %s threads" % (dl4j["framework"], dl4j.get("build"), dl4j.get("threads")),
        "PyTorch: %s, %s, %s threads" % (torch["framework"], torch.get("build", "-"), torch.get("threads", "-")),
        "data:    %s" % os.environ.get("BENCH_DATA", dl4j.get("dataset", "-")),
    ] + (["isa:     %s" % os.environ["BENCH_ISA"]] if os.environ.get("BENCH_ISA") else []) + (
        ["rounds:  %d, the two frameworks alternating; times are medians over the rounds, 'per round' the range "
         "of the round-by-round ratios" % len(paired)] if paired else []) + [
        "epochs %s, batch %s (s = seconds per epoch, or in all for featurize and evaluation)" % (
            dl4j.get("epochs"), dl4j.get("batchSize")),
        "", head, "-" * len(head)]
    for r in rows:
        lines.append("%-52s | %12s | %12s | %9s | %10s | %10s" % (
            r["label"][:52], fmt(r["dl4j_images_per_s"]), fmt(r["pytorch_images_per_s"]),
            fmt(r["dl4j_over_pytorch"], "{:.2f}x"), fmt(r["dl4j_seconds"], "{:.2f}"),
            fmt(r["pytorch_seconds"], "{:.2f}")) + (" | %13s" % fmt_range(r["per_round"], "{:.2f}x") if paired else ""))
    share_d, share_t = transfer_share(d), transfer_share(t)
    full_d, full_t = transfer_share(d, True), transfer_share(t, True)
    lines.append("%-52s | %12s | %12s |" % ("transfer/base: model 2 (featurize + head) / base time",
                                              fmt(share_d, "{:.1%}"), fmt(share_t, "{:.1%}")))
    lines.append("%-52s | %12s | %12s |" % ("  the same, featurizing the test images counted in",
                                              fmt(full_d, "{:.1%}"), fmt(full_t, "{:.1%}")))
    if paired:
        for label, validation in (("  per round (DL4J; PyTorch)", False), ("  per round, test images in", True)):
            lines.append("%-52s | %12s | %12s |" % (
                label, fmt_range(share_range(paired, 0, validation), "{:.1%}"),
                fmt_range(share_range(paired, 1, validation), "{:.1%}")))
    lines += ["", "validation accuracy per epoch (DL4J / PyTorch, difference in points)"]
    acc_rows = []
    for key, label in EPOCH_PHASES:
        if key not in d:
            continue
        cells = []
        for i, a in enumerate(d[key]["accuracy"]):
            b = t[key]["accuracy"][i] if key in t and i < len(t[key]["accuracy"]) else None
            cells.append("%.4f / %s (%s)" % (a, fmt(b, "{:.4f}"), fmt(None if b is None else (a - b) * 100, "{:+.1f}")))
            acc_rows.append({"phase": key, "epoch": i + 1, "dl4j_accuracy": a, "pytorch_accuracy": b})
        lines.append("%-16s %s" % (key, "  ".join(cells)))
    print("\n".join(lines))

    with open(sys.argv[3], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["phase", "metric", "dl4j", "pytorch"])
        for r in rows:
            w.writerow([r["phase"], "images_per_second", r["dl4j_images_per_s"], r["pytorch_images_per_s"]])
            w.writerow([r["phase"], "seconds", r["dl4j_seconds"], r["pytorch_seconds"]])
        w.writerow(["transfer/base", "time_share", share_d, share_t])
        w.writerow(["transfer/base", "time_share_with_validation_featurize", full_d, full_t])
        for a in acc_rows:
            w.writerow([a["phase"], "accuracy_epoch_%d" % a["epoch"], a["dl4j_accuracy"], a["pytorch_accuracy"]])
    if len(sys.argv) > 4:
        with open(sys.argv[4], "w") as f:
            f.write("```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
