"""Makes cnn_bn.safetensors and cnn_bn.expected.json: a small PyTorch CNN with
batch norm (evaluation mode, non-trivial running statistics), max and average
pooling, and its logits for a few random inputs.

Run with Debian's PyTorch: /usr/bin/python3 make_cnn.py
(The safetensors file is written by hand, in the format's plain layout, so
no safetensors package is needed.)"""
import json, struct
import torch, torch.nn as nn

torch.manual_seed(3)
arch = "conv(8,3,pad=1) batchnorm relu maxpool(2) conv(16,3,stride=2,pad=1,dilation=1) batchnorm relu avgpool(3,stride=1,pad=1) flatten linear(10)"
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
    nn.AvgPool2d(3, stride=1, padding=1), nn.Flatten(), nn.Linear(16 * 7 * 7, 10))
# Give batch norm real running statistics: a few training-mode passes.
model.train()
with torch.no_grad():
    for _ in range(5):
        model(torch.rand(32, 1, 28, 28) * 2 + 0.5)
model.eval()
x = torch.rand(6, 1, 28, 28)
with torch.no_grad():
    logits = model(x)

sd = model.state_dict()
header, blobs, off = {}, [], 0
for name in sorted(sd):
    t = sd[name].contiguous()
    if t.dtype == torch.int64:
        dtype, raw = "I64", struct.pack("<%dq" % t.numel(), *t.flatten().tolist())
    else:
        dtype, raw = "F32", struct.pack("<%df" % t.numel(), *t.flatten().tolist())
    header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
    blobs.append(raw)
    off += len(raw)
header["__metadata__"] = {"architecture": arch, "input_shape": "[1,28,28]"}
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
with open("cnn_bn.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
with open("cnn_bn.expected.json", "w") as f:
    json.dump({"architecture": arch, "generator": "PyTorch " + torch.__version__,
               "input_shape": [6, 1, 28, 28], "input": x.flatten().tolist(),
               "logits": logits.flatten().tolist()}, f)
print("wrote", off, "bytes of weights;", arch)
