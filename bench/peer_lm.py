"""W-LM for PyTorch on the CPU, defined exactly as `backprop bench --workload
lm` defines it.

  python3 peer_lm.py gpt|lstm THREADS [--steps N] [--seed S] [--data FILE]

Byte tokens (vocabulary 256); the first 90% of the text trains, the last
10% tests. Each step draws 32 random windows of 129 bytes from the training
part and predicts bytes 2..129 from bytes 1..128, with AdamW (lr 1e-3,
betas (0.9, 0.99), weight decay 0.1 on every parameter), no dropout.

gpt:  token embedding 256×128, learned positions 128×128 (N(0, 0.02²)),
      4 pre-norm causal transformer layers (4 heads, feed-forward 512, GELU),
      a final layer norm and a linear head to 256 logits.
lstm: embedding 256×64, an LSTM of 256, a linear head to 256 logits.

Tokens per second = 32·128 / the median step (forward, loss, backward,
optimiser step) after the first 5. Test loss: the mean cross-entropy in
nats per byte over the test part cut into non-overlapping windows of 129
bytes (stride 128), the last partial window dropped.

The default text is the Go source, without tests, of fmt, strings, bufio,
sort, bytes, strconv, errors and io under `go env GOROOT`, each package's
files in name order, concatenated (as backprop builds it). Prints one JSON
line, as `backprop bench --json` does.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONTEXT, BATCH, VOCAB, TRAIN_FRAC, EVAL_BATCH, SKIP = 128, 32, 256, 0.9, 64, 5
GO_PACKAGES = ["fmt", "strings", "bufio", "sort", "bytes", "strconv", "errors", "io"]


def go_source_text():
    """The default text: the packages' non-test .go files, in name order."""
    try:
        root = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        root = ""
    if not root:
        sys.exit("peer_lm.py: no Go installation found (go env GOROOT failed): give a text with --data FILE")
    text = bytearray()
    for pkg in GO_PACKAGES:
        d = os.path.join(root, "src", pkg)
        # Byte order, as Go's os.ReadDir sorts.
        for name in sorted(os.listdir(d), key=os.fsencode):
            p = os.path.join(d, name)
            if os.path.isdir(p) or not name.endswith(".go") or name.endswith("_test.go"):
                continue
            with open(p, "rb") as f:
                text += f.read()
    return bytes(text)


class GPT(nn.Module):
    def __init__(self, layers=4, dim=128, heads=4, ff=512):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, dim)  # N(0, 1), as backprop's
        self.pos = nn.Parameter(torch.empty(CONTEXT, dim).normal_(0, 0.02))
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(dim, heads, ff, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=True)
            for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, VOCAB)
        self.register_buffer("mask", torch.triu(torch.full((CONTEXT, CONTEXT), float("-inf")), diagonal=1))

    def forward(self, ids):
        t = ids.shape[1]
        x = self.tok(ids) + self.pos[:t]
        for b in self.blocks:
            x = b(x, src_mask=self.mask[:t, :t])
        return self.head(self.norm(x))


class LSTMLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 64)
        self.lstm = nn.LSTM(64, 256, batch_first=True)
        self.head = nn.Linear(256, VOCAB)

    def forward(self, ids):
        return self.head(self.lstm(self.emb(ids))[0])


def windows(data, offsets):
    """Inputs and next-byte targets [len(offsets), CONTEXT] of the windows at offsets."""
    w = torch.stack([data[o:o + CONTEXT + 1] for o in offsets])
    return w[:, :-1], w[:, 1:]


def test_loss(model, test):
    model.eval()
    n = (len(test) - 1) // CONTEXT
    total = 0.0
    with torch.no_grad():
        for i in range(0, n, EVAL_BATCH):
            k = min(EVAL_BATCH, n - i)
            x, y = windows(test, [(i + j) * CONTEXT for j in range(k)])
            total += F.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1)).item() * k * CONTEXT
    model.train()
    return total / (n * CONTEXT)


def main():
    ap = argparse.ArgumentParser(description="W-LM for PyTorch")
    ap.add_argument("model", choices=["gpt", "lstm"])
    ap.add_argument("threads", type=int)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--data", help="the text file (default: the Go source)")
    a = ap.parse_args()
    if a.steps < 1:
        ap.error("--steps: want at least 1")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    if a.data:
        with open(a.data, "rb") as f:
            text = f.read()
    else:
        text = go_source_text()
    cut = int(len(text) * TRAIN_FRAC)
    if cut < CONTEXT + 2 or len(text) - cut < CONTEXT + 1:
        sys.exit(f"peer_lm.py: the text has {len(text)} bytes: too short for a window of {CONTEXT + 1} bytes in both parts")
    data = torch.frombuffer(bytearray(text), dtype=torch.uint8).long()
    train, test = data[:cut], data[cut:]
    model = GPT() if a.model == "gpt" else LSTMLM()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    times = []
    for _ in range(a.steps):
        x, y = windows(train, [rng.randrange(len(train) - CONTEXT - 1) for _ in range(BATCH)])
        start = time.perf_counter()
        loss = F.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
        if loss.item() != loss.item():
            sys.exit("peer_lm.py: the training loss became NaN")
    rest = sorted(times[min(SKIP, a.steps - 1):])
    med = rest[len(rest) // 2]
    print(json.dumps({"workload": "lm", "model": a.model, "threads": a.threads, "steps": a.steps,
                      "tokens_per_second": round(BATCH * CONTEXT / med),
                      "step_seconds_median": round(med, 5),
                      "test_loss": round(test_loss(model, test), 4),
                      "params": sum(p.numel() for p in model.parameters())},
                     sort_keys=True, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
