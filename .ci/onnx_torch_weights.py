"""PyTorch models with random weights -> their state_dicts as safetensors, plus an input batch and
PyTorch's outputs, for `axon-onnx-check torch` (from_torch_state_dict onto the same models built with
axon's model API): torchvision's ResNet-18 (eval mode, random batch-norm statistics so that their
mapping counts), a bidirectional LSTM + GRU + Linear stack, and a post-norm transformer encoder
layer, and a ConvTranspose / depthwise Conv / GroupNorm decoder. Files: DIR/torch_<name>.safetensors (state_dict) and DIR/torch_<name>_io.safetensors
("input", "output"; images NHWC)."""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402


class Recurrent(torch.nn.Module):
    """axon: lstm(32, bidirectional) | gru(24, return_sequences = false) | dense(5)."""

    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(16, 32, batch_first=True, bidirectional=True)
        self.gru = torch.nn.GRU(64, 24, batch_first=True)
        self.fc = torch.nn.Linear(24, 5)

    def forward(self, x):
        y, _ = self.lstm(x)
        _, h = self.gru(y)
        return self.fc(h[-1])


def resnet18():
    net = torchvision.models.resnet18(num_classes=10)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return net, torch.randn(2, 3, 64, 64)


def transformer():
    layer = torch.nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, dropout=0.0, batch_first=True)
    with torch.no_grad():  # non-trivial norms and biases
        for name, p in layer.named_parameters():
            if "norm" in name or "bias" in name:
                p.normal_(0.5 if name.endswith("weight") else 0.0, 0.2)
    return layer, torch.randn(2, 10, 32)


def decoder():
    """axon: conv_transpose(6, 3x3, strides 2, pads (1, 2)) | relu | depthwise_conv(1, 3x3, same) | group_norm(2)."""
    net = torch.nn.Sequential(torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1),
                              torch.nn.ReLU(), torch.nn.Conv2d(6, 6, 3, padding=1, groups=6), torch.nn.GroupNorm(2, 6))
    with torch.no_grad():
        net[3].weight.uniform_(0.5, 1.5)
        net[3].bias.normal_(0, 0.2)
    return net, torch.randn(2, 4, 5, 5)


def main(out_dir):
    torch.manual_seed(0)
    for name, (net, x) in {"resnet18": resnet18(), "recurrent": (Recurrent(), torch.randn(2, 12, 16)),
                           "transformer": transformer(), "decoder": decoder()}.items():
        net.eval()
        with torch.no_grad():
            y = net(x)
        if y.dim() == 4:  # images: NHWC as axon's
            y = y.permute(0, 2, 3, 1).contiguous()
        state = {k: v.detach().numpy() for k, v in net.state_dict().items()}
        safetensors_np.save(os.path.join(out_dir, f"torch_{name}.safetensors"), state)
        safetensors_np.save(os.path.join(out_dir, f"torch_{name}_io.safetensors"),
                            {"input": x.numpy(), "output": y.numpy()})
        print(f"torch {name}: {len(state)} tensors, output {tuple(y.shape)}")


if __name__ == "__main__":
    main(sys.argv[1])
