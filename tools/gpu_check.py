"""Reproduce the README's GPU numbers: `repsim bench` on CUDA, plus the size of GPU non-determinism in training.

Usage (on a machine with a CUDA GPU, from the repository root):
    PYTHONPATH=. python tools/gpu_check.py OUT_DIR MNIST_DIR
Writes OUT_DIR/bench_gpu.json and prints the benchmark table.
"""
import json, sys, time
from pathlib import Path
import torch
from repsim.data import load_mnist
from repsim.training import train_stacked, Recipe
from repsim.bench import bench, bench_table, all_pairs_all_measures, timed

out, data = Path(sys.argv[1]), sys.argv[2]
out.mkdir(parents=True, exist_ok=True)
dev = torch.device('cuda')
r = bench(data, 'cuda', quick=True)
print(bench_table(r), flush=True)
# all pairs with a larger image cap for the O(n^2) measures
x, y = load_mnist(data, pixels=True)          # uint8, scaled per batch, as `repsim train` does
xt, _ = load_mnist(data, train=False)
sds = train_stacked(list(range(100)), x, y, Recipe(epochs=1), dev, progress=False)
for cap in (1000, 4000):
    _, t = timed(lambda: all_pairs_all_measures(sds, xt, dev, cap), dev, repeat=2)
    r.setdefault('all_pairs_by_cap', {})[cap] = round(t, 3)
    print(f"all pairs, 100 instances x 10000 images, O(n^2) measures on {cap} images: {t:.3f} s", flush=True)
# non-determinism: the same seeds twice on the GPU, and against the CPU
runs = [train_stacked(list(range(5)), x, y, Recipe(epochs=1), d, progress=False) for d in (dev, dev, 'cpu')]
gap = lambda p, q: max(float((p[i][k] - q[i][k]).abs().max()) for i in range(5) for k in p[i])
r['gpu_nondeterminism'] = dict(max_abs_weight_diff_gpu_vs_gpu=gap(runs[0], runs[1]), max_abs_weight_diff_gpu_vs_cpu=gap(runs[0], runs[2]),
                               recipe='5 instances, 1 epoch, Adam 1e-3, batch 64', device=torch.cuda.get_device_name(dev))
print(r['gpu_nondeterminism'], flush=True)
(out/'bench_gpu.json').write_text(json.dumps(r, indent=2))
