"""Cross-framework agreement: PyTorch builds the reference network from FeatureWeights envelopes and must
predict what DL4J predicted.

The feature layers come from the base model's envelope; the head (dense, output) from model 2's parameters,
exported by the same codec (whose feature arrays must equal the base's bit for bit: they were frozen). The
images are read here from the IDX files themselves, not handed over, and the labels the Java side used are
checked against them, so that both ran on the same images. Passing: the same most probable class for every
image and every probability within --tolerance of DL4J's. Exit status 0 when they agree, 1 when not.

    python3 torch_agreement.py --base base.frw --model2 model2.frw --idx-dir DIR --classes 5,6,7,8,9 \
        --dl4j-probabilities probs.f32 --dl4j-labels labels.i32 --count 500
"""

import argparse
import gzip
import struct
import sys
from pathlib import Path

import numpy as np
import torch

import featurerelay_envelope as fre


def read_idx(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def first_existing(directory, name):
    for candidate in (directory / (name + ".gz"), directory / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no {name}(.gz) in {directory}")


class ReferenceNetwork(torch.nn.Module):
    """The transfer CNN of ModelSpec: valid convolutions with ReLU, max pooling, flatten, dense + ReLU, softmax."""

    def __init__(self, spec, features, head):
        super().__init__()
        convs = []
        for i, _ in enumerate(spec["convFilters"]):
            w = features[f"conv{i + 1}"]["W"]  # OIHW, as torch keeps it
            conv = torch.nn.Conv2d(w.shape[1], w.shape[0], kernel_size=(w.shape[2], w.shape[3]))
            conv.weight.data = torch.from_numpy(w.copy())
            conv.bias.data = torch.from_numpy(features[f"conv{i + 1}"]["b"].copy())
            convs += [conv, torch.nn.ReLU()]
        # floor mode: a window that does not fit at the edge is dropped, as DL4J's truncate mode and ours do
        convs.append(torch.nn.MaxPool2d(spec["pool"], spec["pool"]))
        self.features = torch.nn.Sequential(*convs)
        self.dense = self.linear(head["dense"])
        self.output = self.linear(head["output"])

    @staticmethod
    def linear(arrays):
        w = arrays["W"]  # [in, out] in the envelope; torch's Linear holds [out, in]
        layer = torch.nn.Linear(w.shape[0], w.shape[1])
        layer.weight.data = torch.from_numpy(np.ascontiguousarray(w.T))
        layer.bias.data = torch.from_numpy(arrays["b"].copy())
        return layer

    def forward(self, x):
        x = self.features(x).flatten(1)  # NCHW flattened in C order, as DL4J's preprocessor and ours
        x = torch.relu(self.dense(x))
        return torch.softmax(self.output(x), dim=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--model2", type=Path, required=True)
    parser.add_argument("--idx-dir", type=Path, required=True)
    parser.add_argument("--classes", required=True, help="the target classes, e.g. 5,6,7,8,9")
    parser.add_argument("--dl4j-probabilities", type=Path, required=True, help="float32 little-endian [count, classes]")
    parser.add_argument("--dl4j-labels", type=Path, required=True, help="int32 little-endian [count]")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    torch.set_num_threads(1)

    base = fre.read_envelope(args.base.read_bytes())
    model2 = fre.read_envelope(args.model2.read_bytes())
    for layer in base.header["featureLayers"]:
        for key, values in base.arrays[layer].items():
            if values.tobytes() != model2.arrays[layer][key].tobytes():
                print(f"model 2's {layer}.{key} differs from the base's: the features were not frozen")
                return 1

    classes = [int(c) for c in args.classes.split(",")]
    images = read_idx(first_existing(args.idx_dir, "t10k-images-idx3-ubyte"))
    labels = read_idx(first_existing(args.idx_dir, "t10k-labels-idx1-ubyte"))
    chosen = [i for i, label in enumerate(labels) if label in classes][:args.count]
    remapped = np.array([classes.index(labels[i]) for i in chosen], dtype=np.int32)
    dl4j_labels = np.fromfile(args.dl4j_labels, dtype="<i4")
    if len(chosen) != args.count or not np.array_equal(remapped, dl4j_labels):
        print(f"the images differ from DL4J's: {len(chosen)} found, labels equal: "
              f"{np.array_equal(remapped, dl4j_labels[:len(remapped)])}")
        return 1
    # scaled as ImageBatches does, by the float 1/255
    x = torch.from_numpy(images[chosen].astype(np.float32)[:, None, :, :] * (np.float32(1) / np.float32(255)))

    network = ReferenceNetwork(model2.spec, base.arrays, model2.arrays).eval()
    with torch.no_grad():
        probabilities = network(x).numpy()
    dl4j = np.fromfile(args.dl4j_probabilities, dtype="<f4").reshape(probabilities.shape)
    same_class = int((probabilities.argmax(1) == dl4j.argmax(1)).sum())
    difference = float(np.abs(probabilities - dl4j).max())
    accuracy = float((probabilities.argmax(1) == remapped).mean())
    print(f"torch {torch.__version__}: {same_class}/{len(chosen)} images with DL4J's most probable class, "
          f"largest probability difference {difference:.3g} (tolerance {args.tolerance}), accuracy {accuracy:.4f}")
    if same_class != len(chosen) or difference > args.tolerance:
        return 1
    print("agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
