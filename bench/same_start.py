"""Same start, same learning: PyTorch trains the reference network from the exact initial weights DL4J drew
(exported as a FeatureWeights envelope) on the same batches in the same order (exported by Trainer.epochOrder),
so that what remains between the two frameworks' accuracies is their arithmetic, not initialisation, shuffling
or dropout (the spec must have no dropout). Prints and writes the validation accuracy after each epoch.

    /usr/bin/python3 bench/same_start.py --init-envelope init.frw --order order.i32 --data-dir DIR \
        --classes 0,1,2,3,4 --batch-size 32 --optimizer adam --learning-rate 0.001 --out result.json

The order file holds the epochs' orders back to back, int32 little-endian; its length fixes the epochs.
learning-core's SameStartTest runs it on the committed sample against DL4J's run.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clients" / "python"))
import featurerelay_envelope as fre  # noqa: E402
from torch_agreement import ReferenceNetwork, first_existing, read_idx  # noqa: E402


def subset(data_dir, prefix, classes):
    images = read_idx(first_existing(data_dir, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(first_existing(data_dir, f"{prefix}-labels-idx1-ubyte"))
    # in file order, labels remapped to 0..n-1: as ImageDataset.subset does
    keep = [i for i, label in enumerate(labels) if label in classes]
    x = torch.from_numpy(images[keep].astype(np.float32)[:, None, :, :] * (np.float32(1) / np.float32(255)))
    y = torch.tensor([classes.index(labels[i]) for i in keep])
    return x, y


def logits(network, x):
    h = torch.relu(network.dense(network.features(x).flatten(1)))
    return network.output(h)


class Dl4jAdam(torch.optim.Optimizer):
    """Adam as libnd4j's adamUpdater computes it, which DL4J's Adam runs: the bias corrections folded into the
    step size, epsilon added to the uncorrected root, p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps).
    torch's Adam adds epsilon to the corrected root, i.e. a larger epsilon in the first steps, which moves the
    weights whose gradients are small differently."""

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["t"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                state["t"] += 1
                t, m, v = state["t"], state["m"], state["v"]
                m.mul_(b1).add_(p.grad, alpha=1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                step = group["lr"] * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t)
                p.sub_(step * m / (v.sqrt() + group["eps"]))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--init-envelope", type=Path, required=True)
    p.add_argument("--order", type=Path, required=True)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--classes", required=True)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--optimizer", default="adadelta", choices=["adadelta", "adam"])
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--adam", default="dl4j", choices=["dl4j", "torch"],
                   help="Adam as libnd4j computes it (default) or torch.optim.Adam")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path)
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    init = fre.read_envelope(a.init_envelope.read_bytes())
    spec = init.spec
    if spec["convDropout"] != 0 or spec["denseDropout"] != 0:
        print("the spec has dropout: masks cannot be shared across frameworks, switch it off")
        return 2
    classes = [int(c) for c in a.classes.split(",")]
    x, y = subset(a.data_dir, "train", classes)
    xt, yt = subset(a.data_dir, "t10k", classes)
    order = np.fromfile(a.order, dtype="<i4")
    if len(order) % len(x) != 0:
        print(f"the order file has {len(order)} entries, not a multiple of the {len(x)} training images")
        return 2
    network = ReferenceNetwork(spec, init.arrays, init.arrays)
    # DL4J's updaters: Adadelta rho 0.95, epsilon 1e-6 (no learning rate); Adam beta 0.9/0.999, epsilon 1e-8
    if a.optimizer == "adadelta":
        opt = torch.optim.Adadelta(network.parameters(), lr=1.0, rho=0.95, eps=1e-6)
    elif a.adam == "dl4j":
        opt = Dl4jAdam(network.parameters(), lr=a.learning_rate)
    else:
        opt = torch.optim.Adam(network.parameters(), lr=a.learning_rate)
    accuracies = []
    losses = []
    for epoch in range(len(order) // len(x)):
        visit = torch.from_numpy(order[epoch * len(x):(epoch + 1) * len(x)].astype(np.int64))
        network.train()
        loss_sum, batches = 0.0, 0
        for i in range(0, len(x), a.batch_size):
            idx = visit[i:i + a.batch_size]
            opt.zero_grad(set_to_none=True)
            # softmax + cross-entropy averaged over the batch, as DL4J's MCXENT output layer
            loss = F.cross_entropy(logits(network, x[idx]), y[idx])
            loss.backward()
            opt.step()
            loss_sum, batches = loss_sum + float(loss), batches + 1
        # the epoch's training loss as DL4J's Trainer reports it: the mean of the batches' losses
        losses.append(loss_sum / batches)
        network.eval()
        with torch.no_grad():
            accuracies.append(float((network(xt).argmax(1) == yt).float().mean()))
        print(f"epoch {epoch + 1}: training loss {losses[-1]:.5f}, validation accuracy {accuracies[-1]:.4f}")
    if a.out:
        a.out.write_text(json.dumps({"torch": torch.__version__, "trainingLoss": losses,
                                      "validationAccuracy": accuracies}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
