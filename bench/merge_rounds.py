#!/usr/bin/python3
"""Merges one framework's benchmark JSON files from several rounds into one of the same shape.

usage: bench/merge_rounds.py OUT_JSON ROUND_JSON...
Every time (each epoch's seconds, each phase's seconds) becomes its median over the rounds; accuracies are the
first round's (the runs are seeded, so the rounds train the same models); each round's phases are kept under
"roundPhases" (report.py pairs them with the other framework's round by round) and the count under "rounds".
Why: on a shared virtual machine the speed moves by a third or more from one minute to the next, and
bench/run.sh --rounds alternates the two frameworks so that each round compares them in the same few minutes.
"""
import json
import statistics
import sys


def merge(rounds):
    first = rounds[0]
    merged = dict(first)
    phases = []
    for p in first["phases"]:
        same = [next((q for q in r["phases"] if q["phase"] == p["phase"]), None) for r in rounds]
        if any(q is None for q in same):
            raise SystemExit("phase %s is missing from a round" % p["phase"])
        m = dict(p)
        if "epochSeconds" in p:
            m["epochSeconds"] = [statistics.median(q["epochSeconds"][i] for q in same)
                                 for i in range(len(p["epochSeconds"]))]
        if "seconds" in p:
            m["seconds"] = statistics.median(q["seconds"] for q in same)
        phases.append(m)
    merged["phases"] = phases
    merged["rounds"] = len(rounds)
    merged["roundPhases"] = [r["phases"] for r in rounds]
    return merged


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rounds = [json.load(open(path)) for path in sys.argv[2:]]
    with open(sys.argv[1], "w") as f:
        json.dump(merge(rounds), f, indent=1)


if __name__ == "__main__":
    main()
