"""W-GEMM for a peer: C = A·B in float32, row-major, every shape of the workload.

  python3 peer_gemm.py numpy|torch THREADS

One JSON object per line: {"lib", "threads", "m", "k", "n", "gflops"} with
GFLOP/s = 2·M·N·K / the median of 7 timed repetitions after a warm-up (each
repetition loops the product until it lasts about 0.1 s).
"""
import json
import statistics
import sys
import time

import numpy as np

SQUARES = [128, 256, 512, 1024, 2048]
SHAPES = [(s, s, s) for s in SQUARES] + [(64, 784, 256), (64, 256, 128), (12544, 288, 64), (50176, 288, 64)]


def product(lib, threads, a, b, c):
    if lib == "torch":
        import torch
        torch.set_num_threads(threads)
        ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c)
        return lambda: torch.matmul(ta, tb, out=tc)
    return lambda: np.matmul(a, b, out=c)


def measure(f, flop):
    f()
    t = time.perf_counter()
    f()
    once = time.perf_counter() - t
    loops = max(1, min(50, int(0.1 / max(once, 1e-7))))
    times = []
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(loops):
            f()
        times.append((time.perf_counter() - t) / loops)
    return flop / statistics.median(times) / 1e9


def main():
    lib, threads = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(1)
    for m, k, n in SHAPES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        c = np.empty((m, n), dtype=np.float32)
        g = measure(product(lib, threads, a, b, c), 2.0 * m * n * k)
        print(json.dumps({"lib": lib, "threads": threads, "m": m, "k": k, "n": n, "gflops": round(g, 1)}), flush=True)


if __name__ == "__main__":
    main()
