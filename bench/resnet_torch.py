#!/usr/bin/python3
"""W-RESNET18 with PyTorch, as `backprop bench --workload resnet18` measures it.

  bench/resnet_torch.py THREADS [REPS]

torchvision's resnet18 (1000 classes, random weights): a training step
(forward, cross-entropy, backward, SGD lr 0.01 momentum 0.9) on a batch of
32 random 3x64x64 images, and inference in evaluation mode (no_grad) on
batches of 1 and 32 random 3x224x224 images; each figure the median of REPS
repetitions (default 5) after a warm-up, with the median CPU time of the
process (all threads; steadier than wall time on a shared machine) as
cpu_seconds. Prints the same JSON lines as backprop bench --json. PyTorch's convolutions are oneDNN's (mkldnn), its
matrix products OpenBLAS's.
"""
import json
import statistics
import sys
import time

import torch
import torchvision


def median_seconds(f, reps):
    """The median wall time and the median CPU time (all threads) of reps
    runs of f, after a warm-up."""
    f()
    runs, cpu = [], []
    for _ in range(reps):
        c = time.process_time()
        t = time.perf_counter()
        f()
        runs.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(runs), statistics.median(cpu)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    torch.set_num_threads(threads)
    torch.manual_seed(42)
    model = torchvision.models.resnet18()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(32, 3, 64, 64)
    y = torch.randint(0, 1000, (32,))
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    s, c = median_seconds(step, reps)
    print(json.dumps({"workload": "resnet18", "phase": "train_step", "batch": 32, "size": 64, "threads": threads,
                      "seconds": round(s, 4), "cpu_seconds": round(c, 4), "peer": "pytorch " + torch.__version__}), flush=True)
    model.eval()
    for b in (1, 32):
        xi = torch.randn(b, 3, 224, 224)
        with torch.no_grad():
            s, c = median_seconds(lambda: model(xi), reps)
        print(json.dumps({"workload": "resnet18", "phase": "infer", "batch": b, "size": 224, "threads": threads,
                          "seconds": round(s, 4), "cpu_seconds": round(c, 4), "images_per_second": round(b / s, 1),
                          "peer": "pytorch " + torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
