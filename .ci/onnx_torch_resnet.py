"""torchvision's ResNet-18 (random init, eval mode, random batch-norm statistics so that their mapping
counts) -> its state_dict as safetensors, plus an input batch and PyTorch's logits, for
`axon-onnx-check torch` (from_torch_state_dict onto the model API's ResNet-18)."""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402


def main(out_dir):
    torch.manual_seed(0)
    net = torchvision.models.resnet18(num_classes=10)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    net.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        logits = net(x)
    state = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    safetensors_np.save(os.path.join(out_dir, "resnet18_torch.safetensors"), state)
    safetensors_np.save(os.path.join(out_dir, "resnet18_torch_io.safetensors"),
                        {"input": x.numpy(), "logits": logits.numpy()})
    print(f"torchvision resnet18: {len(state)} tensors, logits {tuple(logits.shape)}")


if __name__ == "__main__":
    main(sys.argv[1])
