#!/usr/bin/python3
"""The reference experiment in PyTorch, phase by phase, timed the way the Java benchmark times it.

Same network (two 3x3 valid convolutions with ReLU, 2x2 max pooling, dropout 0.25, dense 128 with ReLU,
dropout 0.5, softmax), same initialisation (Glorot uniform, zero biases), same optimizer (Adadelta,
rho 0.95, eps 1e-6, lr 1.0 as DL4J's; or Adam), same data (Fashion-MNIST IDX files, pixels / 255), same
batch size. The CIFAR-10 variant (--dataset cifar-10: the reference article's network, 64 filters on
32x32x3) reads CIFAR-10's binary files. Writes one JSON file in the format of `learning-core-runner.jar bench`.

Run with Debian's python3-torch: /usr/bin/python3 bench/pytorch_reference.py --out pytorch.json
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data_dir, prefix):
    images = read_idx(os.path.join(data_dir, prefix + "-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, prefix + "-labels-idx1-ubyte.gz"))
    return images[:, None, :, :], labels


def read_cifar(paths):
    """CIFAR-10's binary batches: 1 label byte + 3072 pixel bytes (already channels, rows, columns)."""
    records = np.concatenate([np.fromfile(p, dtype=np.uint8).reshape(-1, 3073) for p in paths])
    return records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0]


def load_dataset(dataset, data_dir):
    """(train images, train labels, test images, test labels), images N x C x H x W uint8."""
    if dataset == "cifar-10":
        train = read_cifar([os.path.join(data_dir, "data_batch_%d.bin" % i) for i in range(1, 6)])
        test = read_cifar([os.path.join(data_dir, "test_batch.bin")])
    else:
        train, test = load(data_dir, "train"), load(data_dir, "t10k")
    return train[0], train[1], test[0], test[1]


def subset(images, labels, classes, per_class=0):
    keep = []
    for c in classes:
        idx = np.nonzero(labels == c)[0]
        keep.append(idx[:per_class] if per_class > 0 else idx)
    order = np.sort(np.concatenate(keep))
    x = torch.from_numpy(images[order].astype(np.float32) / 255.0)
    remap = {c: i for i, c in enumerate(classes)}
    y = torch.tensor([remap[int(v)] for v in labels[order]], dtype=torch.long)
    return x, y


class Features(nn.Module):
    def __init__(self, channels, filters):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, filters, 3)
        self.conv2 = nn.Conv2d(filters, filters, 3)
        self.dropout = nn.Dropout(0.25)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        return torch.flatten(self.dropout(x), 1)


class Head(nn.Module):
    def __init__(self, classes, filters, side):
        super().__init__()
        pooled = (side - 4) // 2
        self.dense = nn.Linear(filters * pooled * pooled, 128)
        self.dropout = nn.Dropout(0.5)
        self.output = nn.Linear(128, classes)

    def forward(self, x):
        return self.output(self.dropout(F.relu(self.dense(x))))


class Net(nn.Module):
    """Feature Relay's ModelSpec.forInput: 32 filters for one channel, 64 for three."""

    def __init__(self, classes, channels=1, side=28):
        super().__init__()
        filters = 64 if channels == 3 else 32
        self.features = Features(channels, filters)
        self.head = Head(classes, filters, side)

    def forward(self, x):
        return self.head(self.features(x))


def glorot(module):
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


def optimizer_for(params, name, lr):
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.Adadelta(params, lr=1.0, rho=0.95, eps=1e-6)


def accuracy(model, x, y, batch=256):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def train(model, x, y, xt, yt, epochs, batch, opt, seed):
    """Per epoch: seconds of training (validation excluded) and validation accuracy."""
    generator = torch.Generator().manual_seed(seed)
    seconds, acc = [], []
    for _ in range(epochs):
        model.train()
        # frozen layers run in inference mode (no dropout), as in DL4J
        if isinstance(model, Net) and not next(model.features.parameters()).requires_grad:
            model.features.eval()
        order = torch.randperm(len(x), generator=generator)
        start = time.perf_counter()
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
        acc.append(accuracy(model, xt, yt))
    return seconds, acc


def build_label():
    """oneDNN or not, and the BLAS: MKL where torch was built with it (the pip wheels), else the library Debian's BLAS
    alternative points at (reference BLAS or OpenBLAS), which Debian's torch calls."""
    parts = ["oneDNN" if torch.backends.mkldnn.is_available() else "no oneDNN"]
    if "BLAS_INFO=mkl" in torch.__config__.show():
        return " + ".join(parts + ["MKL"])
    for link in ("/etc/alternatives/libblas.so.3-x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu/libblas.so.3"):
        if os.path.exists(link):
            target = os.path.realpath(link)
            parts.append("OpenBLAS" if "openblas" in target else "reference BLAS" if "/blas/" in target else target)
            break
    return " + ".join(parts)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "cifar-10"])
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--optimizer", default="adadelta", choices=["adadelta", "adam"])
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--per-class", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", required=True)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train_images, train_labels, test_images, test_labels = load_dataset(a.dataset, a.data_dir)
    channels, side = train_images.shape[1], train_images.shape[2]
    source, target = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]
    xs, ys = subset(train_images, train_labels, source, a.per_class)
    xst, yst = subset(test_images, test_labels, source)
    xt, yt = subset(train_images, train_labels, target, a.per_class)
    xtt, ytt = subset(test_images, test_labels, target)

    phases = []

    def epochs_phase(name, images, result):
        phases.append({"phase": name, "images": images, "epochSeconds": result[0], "accuracy": result[1]})

    base = Net(len(source), channels, side)
    glorot(base)
    epochs_phase("base", len(xs), train(base, xs, ys, xst, yst, a.epochs, a.batch_size,
                                        optimizer_for(base.parameters(), a.optimizer, a.learning_rate), a.seed))
    start = time.perf_counter()
    accuracy(base, xst, yst)
    phases.append({"phase": "evaluation", "images": len(xst), "seconds": time.perf_counter() - start})

    def model2():
        m = Net(len(target), channels, side)
        glorot(m)
        m.features.load_state_dict(base.features.state_dict())
        for q in m.features.parameters():
            q.requires_grad = False
        return m

    plain = model2()
    epochs_phase("transfer-plain", len(xt), train(plain, xt, yt, xtt, ytt, a.epochs, a.batch_size,
                                                  optimizer_for(plain.head.parameters(), a.optimizer,
                                                                a.learning_rate), a.seed))

    fast = model2()
    fast.features.eval()
    # the training images' features belong to model 2's training, the test images' to its validation (as
    # Feature Relay's TransferLearner times them)
    start = time.perf_counter()
    with torch.no_grad():
        ft = torch.cat([fast.features(xt[i:i + 256]) for i in range(0, len(xt), 256)])
    phases.append({"phase": "featurize", "images": len(xt), "seconds": time.perf_counter() - start})
    start = time.perf_counter()
    with torch.no_grad():
        ftt = torch.cat([fast.features(xtt[i:i + 256]) for i in range(0, len(xtt), 256)])
    phases.append({"phase": "featurize-validation", "images": len(xtt), "seconds": time.perf_counter() - start})
    epochs_phase("transfer-head", len(xt), train(fast.head, ft, yt, ftt, ytt, a.epochs, a.batch_size,
                                                 optimizer_for(fast.head.parameters(), a.optimizer,
                                                               a.learning_rate), a.seed))

    scratch = Net(len(target), channels, side)
    glorot(scratch)
    epochs_phase("scratch", len(xt), train(scratch, xt, yt, xtt, ytt, a.epochs, a.batch_size,
                                           optimizer_for(scratch.parameters(), a.optimizer, a.learning_rate), a.seed))

    result = {"framework": "PyTorch " + torch.__version__, "build": build_label(),
              "threads": torch.get_num_threads(), "dataset": a.dataset, "epochs": a.epochs, "batchSize": a.batch_size, "phases": phases}
    with open(a.out, "w") as f:
        json.dump(result, f, indent=2)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
