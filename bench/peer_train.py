"""W-MLP, W-CNN and W-INFER for PyTorch on the CPU, defined exactly as backprop's
`bench` defines them.

  python3 peer_train.py mlp|cnn THREADS EPOCHS

Trains with SGD (lr 0.05, momentum 0.9), batch 64, reshuffled each epoch with
seed 42, data already in memory; prints one JSON line per epoch (training
seconds, test accuracy) and then the forward-only throughput over the 10,000
test images at batch 1000 and 1 (median of 3 passes), and a last line
"RESULT {...}" that `compare` reads.
"""
import json
import sys
import time

import torch
import torch.nn as nn

from mnist_idx import load

BATCH, SEED, LR = 64, 42, 0.05


def build(kind):
    if kind == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def test_accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        right = sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item() for i in range(0, len(x), 1000))
    model.train()
    return right / len(x)


def throughput(model, x, batch):
    with torch.no_grad():
        model(x[:batch])
        passes = []
        for _ in range(3):
            t = time.perf_counter()
            for i in range(0, len(x), batch):
                model(x[i:i + batch])
            passes.append(time.perf_counter() - t)
    return len(x) / sorted(passes)[1]


def main():
    kind, threads, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    xtr, ytr, xte, yte = map(torch.from_numpy, load())
    if kind == "cnn":
        xtr, xte = xtr.reshape(-1, 1, 28, 28), xte.reshape(-1, 1, 28, 28)
    model = build(kind)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    order = torch.Generator().manual_seed(SEED)
    result = {"system": "pytorch " + torch.__version__, "workload": kind, "threads": threads, "epochs": []}
    for epoch in range(epochs):
        t = time.perf_counter()
        perm = torch.randperm(len(xtr), generator=order)
        for i in range(0, len(xtr), BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
        row = {"epoch": epoch + 1, "train_sec": round(time.perf_counter() - t, 3),
               "test_acc": test_accuracy(model, xte, yte)}
        result["epochs"].append(row)
        print(json.dumps(row), flush=True)
    model.eval()
    for batch in (1000, 1):
        result[f"infer_b{batch}"] = round(throughput(model, xte, batch), 1)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
