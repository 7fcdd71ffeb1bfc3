"""PyTorch's side of TestFinetuneMatchesPyTorch (cmd/backprop/finetune_test.go).

Usage: python3 finetune_torch.py DIR RECIPE_JSON

Makes synthetic images of ten shape classes (a coloured shape on a coloured,
noisy background), pretrains a small ResNet (resnet() below, backprop's spec
SPEC in the test, with the state_dict names backprop gives it) on six of
them and saves it as DIR/pretrained.safetensors, writes a few-shot
folder of the four other classes (DIR/shots/train/CLASS/*.png, with
DIR/shots/test), then fine-tunes the pretrained network on that folder with
the recipe the test gives backprop train:

  - full-batch SGD with momentum (one step per epoch, so that the order of
    the images does not matter), constant learning rate, weight decay;
  - the classifier head (the last linear layer) replaced by a fresh one for
    the four classes;
  - the backbone frozen (requires_grad off, batch norm in evaluation mode)
    for the first freeze_epochs epochs, afterwards trained at lr x
    backbone_lr_scale (a parameter group of its own), batch norm in
    training mode;
  - images normalised with ImageNet's mean and std.

Each recipe is run head_seeds times, with as many initialisations of the
fresh head (the one thing the two sides cannot share); it prints one JSON
object with the test accuracies.
"""

import json
import os
import struct
import sys

import numpy as np
import torch
from PIL import Image

SIZE = 32
NOISE = 0.08
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
CLASSES = ["disk", "square", "triangle", "plus", "ring", "hbar",  # pretraining
           "diamond", "xcross", "frame", "vbar"]                   # fine-tuning
PRETRAIN, FINETUNE = CLASSES[:6], CLASSES[6:]


def shape_mask(name, rng):
    cy, cx = rng.uniform(0.375 * SIZE, 0.625 * SIZE, size=2)
    r = rng.uniform(0.19 * SIZE, 0.34 * SIZE)
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5
    dy, dx = y - cy, x - cx
    w = max(r / 3.5, 1.5)
    if name == "disk":
        return dx * dx + dy * dy <= r * r
    if name == "square":
        return (abs(dx) <= r * 0.8) & (abs(dy) <= r * 0.8)
    if name == "triangle":
        return (dy <= r * 0.7) & (dy >= -r * 0.9 + 2 * abs(dx))
    if name == "plus":
        return ((abs(dx) <= w) & (abs(dy) <= r)) | ((abs(dy) <= w) & (abs(dx) <= r))
    if name == "ring":
        d = np.sqrt(dx * dx + dy * dy)
        return (d <= r) & (d >= r - w)
    if name == "hbar":
        return (abs(dy) <= w) & (abs(dx) <= r)
    if name == "diamond":
        return abs(dx) + abs(dy) <= r
    if name == "xcross":
        return ((abs(dx - dy) <= w) | (abs(dx + dy) <= w)) & (abs(dx) <= r * 0.8) & (abs(dy) <= r * 0.8)
    if name == "frame":
        a = np.maximum(abs(dx), abs(dy))
        return (a <= r * 0.8) & (a >= r * 0.8 - w)
    if name == "vbar":
        return (abs(dx) <= w) & (abs(dy) <= r)
    raise ValueError(name)


def make_image(name, rng):
    bg = rng.uniform(0, 0.6, size=3).astype(np.float32)
    fg = rng.uniform(0.4, 1, size=3).astype(np.float32)
    img = np.empty((SIZE, SIZE, 3), dtype=np.float32)
    img[:] = bg
    img[shape_mask(name, rng)] = fg
    img += rng.normal(0, NOISE, size=img.shape).astype(np.float32)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def make_set(names, per_class, rng):
    imgs, labels = [], []
    for label, name in enumerate(names):
        for _ in range(per_class):
            imgs.append(make_image(name, rng))
            labels.append(label)
    return np.stack(imgs), np.array(labels)


class Residual(torch.nn.Module):
    """backprop's residual(BODY): body(x) + x, or body(x) + shortcut(x) (a
    1x1 convolution with the stride, and batch norm) when the body changes
    the shape; the body's layers are named by position, "shortcut" after."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        body = [torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False), torch.nn.BatchNorm2d(cout), torch.nn.ReLU(),
                torch.nn.Conv2d(cout, cout, 3, 1, 1, bias=False), torch.nn.BatchNorm2d(cout)]
        for i, m in enumerate(body):
            self.add_module(str(i), m)
        self.n = len(body)
        self.shortcut = None
        if cin != cout or stride != 1:
            self.shortcut = torch.nn.Sequential(torch.nn.Conv2d(cin, cout, 1, stride, bias=False), torch.nn.BatchNorm2d(cout))

    def forward(self, x):
        y = x
        for i in range(self.n):
            y = getattr(self, str(i))(y)
        return y + (x if self.shortcut is None else self.shortcut(x))


class GlobalAvgPool(torch.nn.Module):
    def forward(self, x):
        return x.mean((2, 3))


def resnet(widths, classes):
    """The test's SPEC: conv(w0,3,pad=1,bias=0) batchnorm relu, then for each
    width w residual(conv(w,3,stride=s,pad=1,bias=0) batchnorm relu
    conv(w,3,pad=1,bias=0) batchnorm) relu, s = 1 for the first and 2 after,
    then globalavgpool linear(classes)."""
    layers = [torch.nn.Conv2d(3, widths[0], 3, 1, 1, bias=False), torch.nn.BatchNorm2d(widths[0]), torch.nn.ReLU()]
    cin = widths[0]
    for i, w in enumerate(widths):
        layers += [Residual(cin, w, 1 if i == 0 else 2), torch.nn.ReLU()]
        cin = w
    layers += [GlobalAvgPool(), torch.nn.Linear(cin, classes)]
    return torch.nn.Sequential(*layers)


def head_name(model):
    return str(len(model) - 1)


def to_tensor(imgs):
    x = imgs.astype(np.float32) / np.float32(255)
    x = (x - MEAN) / STD
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def save_safetensors(state, path):
    header, blobs, off = {}, [], 0
    for k, v in state.items():
        v = v.detach().contiguous()
        dt = {torch.float32: "F32", torch.int64: "I64"}[v.dtype]
        b = v.numpy().tobytes()
        header[k] = {"dtype": dt, "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_folder(root, imgs, labels):
    for i, (img, label) in enumerate(zip(imgs, labels)):
        d = os.path.join(root, FINETUNE[label])
        os.makedirs(d, exist_ok=True)
        Image.fromarray(img, "RGB").save(os.path.join(d, "%04d.png" % i))


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def pretrain(recipe, rng):
    imgs, labels = make_set(PRETRAIN, recipe["pretrain_per_class"], rng)
    x, y = to_tensor(imgs), torch.from_numpy(labels)
    model = resnet(recipe["widths"], len(PRETRAIN))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    g = torch.Generator().manual_seed(0)
    for _ in range(recipe["pretrain_epochs"]):
        model.train()
        for idx in torch.randperm(len(y), generator=g).split(50):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return model


def finetune(pretrained, x, y, xt, yt, recipe, freeze_epochs):
    model = resnet(recipe["widths"], len(PRETRAIN))
    model.load_state_dict(pretrained)
    h = head_name(model)
    model[-1] = torch.nn.Linear(recipe["widths"][-1], len(FINETUNE))
    head = list(model[-1].parameters())
    body = [p for n, p in model.named_parameters() if not n.startswith(h + ".")]
    lr = recipe["lr"]
    opt = torch.optim.SGD([{"params": head}, {"params": body, "lr": lr * recipe["backbone_lr_scale"]}],
                          lr=lr, momentum=recipe["momentum"], weight_decay=recipe["weight_decay"])
    for epoch in range(recipe["epochs"]):
        frozen = epoch < freeze_epochs
        for p in body:
            p.requires_grad_(not frozen)
        model.train()
        if frozen:
            for m in list(model)[:-1]:
                m.eval()
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return accuracy(model, xt, yt)


def main():
    global SIZE, NOISE
    out, recipe = sys.argv[1], json.loads(sys.argv[2])
    SIZE, NOISE = recipe["size"], recipe["noise"]
    torch.set_num_threads(recipe.get("threads", 2))
    torch.manual_seed(recipe.get("seed", 0))
    rng = np.random.default_rng(recipe.get("seed", 0))
    model = pretrain(recipe, rng)
    vi, vl = make_set(PRETRAIN, 50, rng)
    pre_acc = accuracy(model, to_tensor(vi), torch.from_numpy(vl))
    pretrained = model.state_dict()
    save_safetensors(pretrained, os.path.join(out, "pretrained.safetensors"))

    tr, trl = make_set(FINETUNE, recipe["shots"], rng)
    te, tel = make_set(FINETUNE, recipe["test_per_class"], rng)
    write_folder(os.path.join(out, "shots", "train"), tr, trl)
    write_folder(os.path.join(out, "shots", "test"), te, tel)
    # backprop orders classes by folder name; so must the labels here.
    order = sorted(range(len(FINETUNE)), key=lambda i: FINETUNE[i])
    remap = np.empty(len(FINETUNE), dtype=np.int64)
    remap[order] = np.arange(len(FINETUNE))
    x, y = to_tensor(tr), torch.from_numpy(remap[trl])
    xt, yt = to_tensor(te), torch.from_numpy(remap[tel])

    res = {"pretrain_accuracy": pre_acc}
    for name, freeze in [("probe", recipe["epochs"]), ("unfrozen", recipe["freeze_epochs"])]:
        accs = []
        for seed in range(recipe["head_seeds"]):
            torch.manual_seed(1000 + seed)  # the fresh head's initialisation
            accs.append(finetune(pretrained, x, y, xt, yt, recipe, freeze))
        res[name] = accs
    print(json.dumps(res))


if __name__ == "__main__":
    main()
