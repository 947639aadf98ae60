#!/usr/bin/python3
"""Writes a synthetic, learnable data set in CIFAR-10's binary format, for the benchmark's CIFAR-10 variant.

Why synthetic: CIFAR-10 cannot be downloaded on the machines this project runs on, and nothing in the project
downloads data at run time. Throughput depends on the shapes (32x32x3, 50,000 training and 10,000 test images),
not on what the pixels show, so the timings stand for the real data set's; the accuracies do not (these classes
are easier than CIFAR-10's), they only show that both frameworks learn.

Each class is a smooth random colour field (its own seed); each image is its class's field under a random
contrast, brightness and shift, plus noise. Files: data_batch_1..5.bin, test_batch.bin, batches.meta.txt, each
record 1 label byte + 3072 pixel bytes (1024 red, 1024 green, 1024 blue, rows top to bottom).

usage: /usr/bin/python3 bench/synthetic_cifar.py --out DIR [--seed N] [--train N] [--test N]
"""
import argparse
import os

import numpy as np

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
SIDE = 32


def templates(seed):
    """One 3x32x32 float field per class: 8x8 random colours, upsampled bilinearly (smooth, distinct)."""
    out = []
    for c in range(len(CLASSES)):
        coarse = np.random.default_rng(seed * 1000 + c).uniform(0, 255, size=(3, 9, 9))
        xs = np.linspace(0, 8, SIDE)
        i0 = np.minimum(xs.astype(int), 7)
        f = xs - i0
        rows = coarse[:, i0, :] * (1 - f)[None, :, None] + coarse[:, i0 + 1, :] * f[None, :, None]
        out.append(rows[:, :, i0] * (1 - f)[None, None, :] + rows[:, :, i0 + 1] * f[None, None, :])
    return np.stack(out)


def records(fields, count, rng):
    labels = np.arange(count) % len(CLASSES)
    rng.shuffle(labels)
    images = fields[labels]
    contrast = rng.uniform(0.6, 1.2, size=(count, 1, 1, 1))
    brightness = rng.uniform(-30, 30, size=(count, 1, 1, 1))
    images = (images - 128) * contrast + 128 + brightness
    shifts = rng.integers(-3, 4, size=(count, 2))
    for n in range(count):
        images[n] = np.roll(images[n], tuple(shifts[n]), axis=(1, 2))
    images += rng.normal(0, 24, size=images.shape)
    pixels = np.clip(images, 0, 255).astype(np.uint8).reshape(count, 3 * SIDE * SIDE)
    return np.concatenate([labels.astype(np.uint8)[:, None], pixels], axis=1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--train", type=int, default=50000, help="training images (5 files; a multiple of 5)")
    p.add_argument("--test", type=int, default=10000)
    a = p.parse_args()
    if a.train < 5 or a.train % 5 or a.test < 1:
        p.error("--train must be a positive multiple of 5, --test positive")
    os.makedirs(a.out, exist_ok=True)
    fields = templates(a.seed)
    rng = np.random.default_rng(a.seed)
    for b in range(5):
        records(fields, a.train // 5, rng).tofile(os.path.join(a.out, "data_batch_%d.bin" % (b + 1)))
    records(fields, a.test, rng).tofile(os.path.join(a.out, "test_batch.bin"))
    with open(os.path.join(a.out, "batches.meta.txt"), "w") as f:
        f.write("\n".join(CLASSES) + "\n")
    with open(os.path.join(a.out, "SYNTHETIC"), "w") as f:
        f.write("synthetic CIFAR-10-format data written by bench/synthetic_cifar.py --seed %d (not CIFAR-10)\n"
                % a.seed)
    print("wrote %d training and %d test images (synthetic) to %s" % (a.train, a.test, a.out))


if __name__ == "__main__":
    main()
