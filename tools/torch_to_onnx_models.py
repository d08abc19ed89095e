#!/usr/bin/env python3
"""Exports the five models of issue 14 with torch.onnx.export for axon's ONNX import check.

For each model NAME it writes, into the output directory:
  NAME.onnx      the model (opset 17, batch axis dynamic)
  NAME.in.bin    one input batch, raw little-endian float32
  NAME.out.bin   PyTorch's output on it (eval mode), raw little-endian float32
  NAME.shape     the input's and output's shapes, one line each ("2 3 64 64")
Usage: torch_to_onnx_models.py OUT_DIR [NAME ...]
"""
import os
import sys

import torch
import torch.nn as nn


class W2(nn.Module):
    """The W2 CNN of bench/train_workloads.cpp, channels first as PyTorch has it."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.features(x)


class Recurrent(nn.Module):
    """An LSTM feeding a GRU (batch first), the last step's state through a linear head."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.gru = nn.GRU(16, 12, batch_first=True)
        self.head = nn.Linear(12, 4)

    def forward(self, x):
        y, _ = self.lstm(x)
        y, _ = self.gru(y)
        return self.head(y[:, -1])


class Encoder(nn.Module):
    """One nn.TransformerEncoderLayer (post-norm, ReLU) and a mean-pooled linear head."""

    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, dropout=0.0, batch_first=True)
        self.head = nn.Linear(32, 3)

    def forward(self, x):
        return self.head(self.layer(x).mean(dim=1))


def resnet18():
    import torchvision
    m = torchvision.models.resnet18(num_classes=10)
    # Running statistics that are not the initial 0 / 1, so that BatchNormalization's import is tested.
    m.train()
    with torch.no_grad():
        for _ in range(3):
            m(torch.randn(4, 3, 64, 64))
    return m


def models():
    return {
        "mlp": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)),
                (4, 1, 28, 28)),
        "w2": (W2, (4, 1, 28, 28)),
        "resnet18": (resnet18, (2, 3, 64, 64)),
        "recurrent": (Recurrent, (3, 7, 8)),
        "encoder": (Encoder, (2, 5, 32)),
    }


def write(out, name, model, shape):
    torch.manual_seed(1)
    x = torch.randn(*shape)
    model.eval()
    with torch.no_grad():
        y = model(x)
    path = os.path.join(out, name)
    # TrainingMode.PRESERVE exports the eval-mode model without folding BatchNormalization into the
    # convolutions (what EVAL does), so the imported ResNet keeps trainable batch norms.
    torch.onnx.export(model, (x,), path + ".onnx", opset_version=17, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                      do_constant_folding=True, training=torch.onnx.TrainingMode.PRESERVE)
    x.numpy().astype("<f4").tofile(path + ".in.bin")
    y.numpy().astype("<f4").tofile(path + ".out.bin")
    with open(path + ".shape", "w") as f:
        f.write(" ".join(map(str, x.shape)) + "\n" + " ".join(map(str, y.shape)) + "\n")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    chosen = sys.argv[2:] or list(models())
    for name in chosen:
        torch.manual_seed(0)
        make, shape = models()[name]
        write(out, name, make(), shape)
        print("exported", name)


if __name__ == "__main__":
    main()
