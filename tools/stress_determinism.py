"""Stress test of CPU training determinism: train the same seeds many times, in separate processes,
while other processes load the CPU, and compare the results bit for bit, step by step.

Each run is a fresh Python process that trains like `repsim train` (`train_instances`: load MNIST,
`train_stacked`, accuracy, atomic checkpoints) with the training step instrumented: every call of
the ops the step is made of (`torch.baddbmm`, `torch.bmm`, `torch.tanh`, `Tensor.softmax`,
`torch.sum` and the functional Adam) records, per instance, an exact checksum of its result and of
each tensor argument (the int64 sum of the float32 bit patterns). The driver compares every run
with the first: the first op whose inputs agree and whose output differs is the op that is not
order-fixed; the final weights are compared bit for bit (max |diff| when they differ).

Runs can differ in configuration (threads, environment variables such as MKL_CBWR,
OMP_NUM_THREADS or ATEN_CPU_CAPABILITY, `torch.use_deterministic_algorithms`, the training buffers
placed at shifted addresses), so the same script answers both "is one configuration reproducible
under load?" and "do two configurations give the same bits?".

Usage (from the repository root, with REPSIM_DATA or --data pointing at MNIST):
    python tools/stress_determinism.py --runs 8 --parallel 2 --load 2
    python tools/stress_determinism.py --runs 4 --config threads=1 --config threads=2 \\
        --config 'threads=1;MKL_CBWR=AVX2'
    python tools/stress_determinism.py --runs 2 --config default --config align=1 --config align=3
Exit status 0 when every run equals the first bit for bit, 1 otherwise; --json FILE writes a
summary.
Load processes (--load N) each run a CPU-bound torch loop on 1 thread; they are stopped at the
end.
With libgomp's default spinning, 2-thread runs on an oversubscribed machine are about 100 times
slower; OMP_WAIT_POLICY=PASSIVE in a configuration avoids that without changing any arithmetic.
"""
from __future__ import annotations
import argparse, json, os, shutil, signal, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np

ENV_SHOWN = ('OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'MKL_CBWR', 'MKL_DYNAMIC',
             'ATEN_CPU_CAPABILITY')


# ------------------------------------------------------------------------------ the worker process
def _instrument(K:int, trace:list, align:int):
    "Wrap the step's ops so that each call appends (name, [checksums of result and tensor args])."
    import torch
    import repsim.training as T

    def ck(t):
        "[K, ...] float32 tensor -> [K] exact checksums (int64 sum of the bit patterns)."
        t = t.detach()
        if t.dtype != torch.float32 or t.ndim == 0 or t.shape[0] != K: return None
        return t.reshape(K, -1).contiguous().view(torch.int32).sum(1, dtype=torch.int64).tolist()

    def record(name, args, out):                             # the result first, then the arguments
        tensors = [x for x in (out, *args) if isinstance(x, torch.Tensor)]
        trace.append((name, [c for c in map(ck, tensors) if c is not None]))

    def hook(name, f):
        def g(*args, **kw):
            out = f(*args, **kw)
            record(name, args, kw.get('out', out)); return out
        return g

    torch.baddbmm, torch.bmm = hook('baddbmm', torch.baddbmm), hook('bmm', torch.bmm)
    torch.tanh, torch.sum = hook('tanh', torch.tanh), hook('sum', torch.sum)
    torch.Tensor.softmax = hook('softmax', torch.Tensor.softmax)
    adam = T.functional_adam
    def adam_hooked(params, grads, m, v, *rest, **kw):
        before = [p.clone() for p in params]
        adam(params, grads, m, v, *rest, **kw)
        for p0, g, p, mm, vv in zip(before, grads, params, m, v):
            record('adam', (p0, g, mm, vv), p)
    T.functional_adam = adam_hooked
    if align:                                    # the padded training buffers, `align` floats off
        blocked = T._blocked
        def shifted(stacked, block=T.ADAM_BLOCK):
            views, bufs = blocked(stacked, block)
            new_views, new_bufs = {}, []
            for (key, v), b in zip(views.items(), bufs):
                s = torch.zeros(b.numel() + align)[align:].view(b.shape).copy_(b)
                new_bufs.append(s); new_views[key] = s[:, :v[0].numel()].view(v.shape)
            return new_views, new_bufs
        T._blocked = shifted


def _worker(a):
    import torch
    import repsim.training as T
    import repsim.training_run as R
    from repsim.store import load_instance
    if a.threads: torch.set_num_threads(a.threads)
    if a.deterministic: torch.use_deterministic_algorithms(True)
    K, trace, out = a.instances, [], Path(a.out)
    _instrument(K, trace, a.align)
    t0 = time.time()
    metas = R.train_instances(out/'run', K, a.seed, T.Recipe(epochs=a.epochs), a.data, 'cpu',
                              progress=False)
    secs = time.time() - t0
    sds = [load_instance(out/'run'/'stored_model_weights'/m['name']) for m in metas]
    cks = np.zeros((len(trace), max(len(c) for _, c in trace), K), dtype=np.int64)
    for i, (_, c) in enumerate(trace): cks[i, :len(c)] = c
    np.savez(out/'result.npz', cks=cks, names=np.array([n for n, _ in trace]),
             **{f'w{i}.{k}': v.numpy() for i, sd in enumerate(sds) for k, v in sd.items()})
    info = dict(seconds=secs, threads=torch.get_num_threads(), ops=len(trace),
                capability=torch.backends.cpu.get_cpu_capability(),
                env={k: os.environ.get(k) for k in ENV_SHOWN},
                accuracy=[m['test_accuracy'] for m in metas])
    (out/'info.json').write_text(json.dumps(info))


# ------------------------------------------------------------------------------ the driver
LOAD = ("import torch\ntorch.set_num_threads(1)\na = torch.randn(384, 384)\n"
        "while True:\n    b = a @ a\n    s = float(b.sum())\n")

def parse_config(s:str)->dict:
    "'threads=1;MKL_CBWR=AVX2;align=3' -> {'threads': 1, 'align': 3, 'env': {'MKL_CBWR': 'AVX2'}}."
    cfg = dict(env={}, name=s)
    for item in ([] if s == 'default' else s.split(';')):
        k, v = item.split('=', 1)
        if k in ('threads', 'align', 'deterministic'): cfg[k] = int(v)
        else: cfg['env'][k] = None if v == 'unset' else v
    return cfg

def start_run(cfg:dict, a, folder:Path)->subprocess.Popen:
    env = {k: v for k, v in {**os.environ, **cfg['env']}.items() if v is not None}
    opts = dict(out=folder, seed=a.seed, instances=a.instances, epochs=a.epochs,
                threads=cfg.get('threads', 0), align=cfg.get('align', 0),
                deterministic=cfg.get('deterministic', 0), data=a.data)
    cmd = [sys.executable, __file__, '--worker']
    for k, v in opts.items():
        if v is not None: cmd += [f'--{k}', str(v)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)

def compare(ref, res, K:int)->dict|None:
    "None when two runs agree bit for bit; else where they first differ, and by how much at last."
    a, b = ref['cks'], res['cks']
    if a.shape != b.shape or list(ref['names']) != list(res['names']):
        return dict(first='different op sequences', max_abs_diff=None)
    out = None
    bad = np.nonzero((a != b).any(axis=(1, 2)))[0]
    if len(bad):
        i = int(bad[0])
        out = dict(op_index=i, op=str(ref['names'][i]),
                   step=int(sum(1 for n in ref['names'][:i + 1] if n == 'adam') // 6),
                   inputs_equal=bool((a[i, 1:] == b[i, 1:]).all()),     # column 0 is the result
                   instances=[k for k in range(K) if (a[i, :, k] != b[i, :, k]).any()])
    keys = [k for k in ref.files if k.startswith('w')]
    differing = {k: float(np.abs(ref[k] - res[k]).max()) for k in keys
                 if not np.array_equal(ref[k].view(np.int32), res[k].view(np.int32))}
    if differing or out:
        out = dict(out or dict(first='only the final weights'), weights_differ=sorted(differing),
                   max_abs_diff=max(differing.values(), default=0.0))
    return out

def run_all(a, jobs:list[dict], root:Path)->tuple[list, float]:
    "Run the jobs, a.parallel at a time, beside a.load load processes: [(index, process, config)]."
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))     # so that `finally` stops the load
    load = [subprocess.Popen([sys.executable, '-c', LOAD], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for _ in range(a.load)]
    t0, running, done = time.time(), [], []
    try:
        for j, cfg in enumerate(jobs):
            while len(running) >= a.parallel:
                fin = [r for r in running if r[1].poll() is not None]
                for r in fin: running.remove(r); done.append(r)
                if not fin: time.sleep(0.05)
            running.append((j, start_run(cfg, a, root/f'run{j}'), cfg))
        for r in running: r[1].wait(); done.append(r)
    finally:
        for q in load + [r[1] for r in running if r[1].poll() is None]: q.kill(); q.wait()
    return sorted(done, key=lambda r: r[0]), time.time() - t0

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    for k in ('worker',): p.add_argument(f'--{k}', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--out', default=None, help=argparse.SUPPRESS)
    for k in ('threads', 'align', 'deterministic'):
        p.add_argument(f'--{k}', type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument('--data', default=None, help="MNIST folder (default: $REPSIM_DATA)")
    p.add_argument('--runs', type=int, default=8, help="runs per configuration")
    p.add_argument('--parallel', type=int, default=2, help="runs at a time")
    p.add_argument('--load', type=int, default=2, help="CPU-bound load processes beside the runs")
    p.add_argument('--instances', type=int, default=2)
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--seed', type=int, default=7)
    p.add_argument('--config', action='append', default=None,
                   help="'default', or ';'-separated threads=N, align=N (floats), "
                        "deterministic=1, ENV=VALUE, ENV=unset; repeat to interleave them")
    p.add_argument('--json', default=None, help="write the summary here")
    p.add_argument('--keep', action='store_true', help="keep the runs' folders")
    a = p.parse_args(argv)
    if a.worker: return _worker(a)

    cfgs = [parse_config(c) for c in (a.config or ['default'])]
    jobs = [cfg for _ in range(a.runs) for cfg in cfgs]             # configurations interleaved
    root = Path(tempfile.mkdtemp(prefix='stress_det_'))
    done, wall = run_all(a, jobs, root)
    results, rows, ok = {}, [], True
    for j, proc, cfg in done:
        log = proc.stdout.read(); proc.stdout.close()
        if proc.returncode != 0:
            print(f"run {j} ({cfg['name']}) failed:\n{log}", file=sys.stderr); ok = False; continue
        results[j] = np.load(root/f'run{j}'/'result.npz')
        info = json.loads((root/f'run{j}'/'info.json').read_text())
        first = min(results)
        diff = compare(results[first], results[j], a.instances) if j != first else None
        ok &= diff is None
        rows.append(dict(run=j, config=cfg['name'], seconds=round(info['seconds'], 2),
                         threads=info['threads'], capability=info['capability'], ops=info['ops'],
                         diff=diff))
        print(f"run {j:3d} {cfg['name']:<34} {info['threads']:2d} thr {info['seconds']:5.1f} s  "
              + ("identical" if diff is None else f"DIFFERS: {diff}"), flush=True)
    summary = dict(ok=ok, runs=len(jobs), parallel=a.parallel, load=a.load,
                   wall_seconds=round(wall, 1), instances=a.instances, epochs=a.epochs,
                   seed=a.seed, rows=rows)
    print(f"{len(jobs)} runs, {a.parallel} at a time, {a.load} load processes, {wall:.0f} s: "
          + ("all identical bit for bit" if ok else "NOT all identical"))
    if a.json: Path(a.json).write_text(json.dumps(summary, indent=2))
    if not a.keep: shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main() or 0)
