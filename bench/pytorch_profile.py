#!/usr/bin/python3
"""PyTorch's side of bench/profile.sh: the benchmark's network (pytorch_reference.Net) timed operator by operator
over a run of batches, for the same two phases as `learning-core-runner.jar profile`: training steps of the base
network (Adadelta or Adam) and featurizing (the feature layers, forward only, no gradients, into a float16 store).

Times come from torch.profiler (CPU time of each top-level aten operator, per batch); the whole batch's wall
time is measured apart, without the profiler, so that its overhead is not in it. Writes one JSON file.
"""
import argparse
import json
import os
import time

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from pytorch_reference import Net, glorot, load_dataset, optimizer_for, subset


def batches(x, y, size, count):
    for b in range(count):
        i = (b * size) % max(1, len(x) - size + 1)
        yield x[i:i + size], y[i:i + size]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "cifar-10"])
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--phase", default="training", choices=["training", "featurizing"])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--batches", type=int, default=30)
    p.add_argument("--optimizer", default="adadelta", choices=["adadelta", "adam"])
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--out", required=True)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    train_images, train_labels, _, _ = load_dataset(a.dataset, a.data_dir)
    channels, side = train_images.shape[1], train_images.shape[2]
    classes = [0, 1, 2, 3, 4] if a.phase == "training" else [5, 6, 7, 8, 9]
    x, y = subset(train_images, train_labels, classes)
    net = Net(len(classes), channels, side)
    glorot(net)

    if a.phase == "training":
        net.train()
        opt = optimizer_for(net.parameters(), a.optimizer, 1e-3)

        def step(xb, yb):
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(xb), yb)
            loss.backward()
            opt.step()
    else:
        net.eval()
        store = torch.empty((a.batch_size, net.head.dense.in_features), dtype=torch.float16)

        def step(xb, yb):
            with torch.no_grad():
                store.copy_(net.features(xb))

    for xb, yb in batches(x, y, a.batch_size, a.warmup):
        step(xb, yb)
    start = time.perf_counter()
    for xb, yb in batches(x, y, a.batch_size, a.batches):
        step(xb, yb)
    wall = (time.perf_counter() - start) * 1000 / a.batches

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for xb, yb in batches(x, y, a.batch_size, a.batches):
            step(xb, yb)
    # top-level operators only: an event whose parent is another aten operator is inside it
    sections = {}
    for e in prof.events():
        if e.cpu_parent is not None:
            continue
        sections[e.name] = sections.get(e.name, 0.0) + e.cpu_time_total / 1000 / a.batches
    ordered = dict(sorted(sections.items(), key=lambda kv: -kv[1]))
    with open(a.out, "w") as f:
        json.dump({"framework": "PyTorch " + torch.__version__, "phase": a.phase, "batchSize": a.batch_size,
                   "batches": a.batches, "threads": a.threads, "batchMillis": wall, "sectionMillis": ordered},
                  f, indent=2)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
