"""Stress test of CPU training determinism: train the same seeds many times, in separate processes, while other
processes load the CPU, and compare the results bit for bit, step by step.

Each run is a fresh Python process that trains like `repsim train` (`train_instances`: load MNIST, `train_stacked`,
accuracy, atomic checkpoints) with the training step instrumented: every call of the ops the step is made of
(`torch.baddbmm`, `torch.bmm`, `torch.tanh`, `Tensor.softmax`, `torch.sum` and the functional Adam) records, per
instance, an exact checksum of each tensor argument and of the result (the int64 sum of the float32 bit patterns).
The driver compares every run with the first: the first op whose inputs agree and whose output differs is the
op that is not order-fixed; the final weights are compared bit for bit (max |diff| when they differ).

Runs can differ in configuration (threads, environment variables such as MKL_CBWR or OMP_NUM_THREADS,
`torch.use_deterministic_algorithms`, tensors placed at shifted memory alignment), so the same script answers both
"is one configuration reproducible under load?" and "do two configurations give the same bits?".

Usage (from the repository root, REPSIM_DATA or --data pointing at MNIST):
    python tools/stress_determinism.py --runs 8 --parallel 2 --load 2
    python tools/stress_determinism.py --runs 4 --config threads=1 --config threads=2 --config 'threads=1;MKL_CBWR=AVX2'
    python tools/stress_determinism.py --runs 6 --config default --config align=1 --config align=16
Exit status 0 when every run equals the first bit for bit, 1 otherwise; --json FILE writes the summary.
Load processes (--load N) each run a CPU-bound torch loop on 1 thread; they are stopped at the end.
"""
from __future__ import annotations
import argparse, json, os, signal, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np

HOOKED = ('baddbmm', 'bmm', 'tanh', 'sum', 'softmax', 'adam')


# ---------------------------------------------------------------------------------------------- the worker process
def _worker(a):
    import torch
    import repsim.training as T
    if a.threads: torch.set_num_threads(a.threads)
    if a.deterministic: torch.use_deterministic_algorithms(True)
    K, trace, op = a.instances, [], [0]

    def ck(t):
        "[K, ...] tensor -> [K] exact checksums (int64 sum of the float32 bit patterns per instance)."
        t = t.detach()
        if t.dtype != torch.float32 or t.ndim == 0 or t.shape[0] != K: return None
        return t.reshape(K, -1).contiguous().view(torch.int32).sum(1, dtype=torch.int64).tolist()

    def record(name, args, out):                    # the output first, then the tensor arguments
        cks = [c for c in (ck(x) for x in (out, *args) if isinstance(x, torch.Tensor)) if c is not None]
        trace.append((name, cks)); op[0] += 1

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
        for p0, g, p, mm, vv in zip(before, grads, params, m, v): record('adam', (p0, g, mm, vv), p)
    T.functional_adam = adam_hooked
    if a.align:                                       # every stacked parameter at a shifted, 4-byte aligned address
        stack = T.stack_params
        def shifted(sds):
            out = {}
            for k, p in stack(sds).items():
                buf = torch.empty(p.numel() + a.align); out[k] = buf[a.align:].view(p.shape).copy_(p)
            return out
        T.stack_params = shifted

    out = Path(a.out)
    t0 = time.time()
    metas = T.train_instances(out/'run', K, a.seed, T.Recipe(epochs=a.epochs), a.data, 'cpu', progress=False)
    secs = time.time() - t0
    sds = [T.load_instance(out/'run'/'stored_model_weights'/m['name']) for m in metas]
    names = [n for n, _ in trace]
    width = max(len(c) for _, c in trace)
    cks = np.zeros((len(trace), width, K), dtype=np.int64)
    for i, (_, c) in enumerate(trace): cks[i, :len(c)] = c
    np.savez(out/'result.npz', cks=cks, names=np.array(names),
             **{f'w{i}.{k}': v.numpy() for i, sd in enumerate(sds) for k, v in sd.items()})
    info = dict(seconds=secs, threads=torch.get_num_threads(), ops=len(trace),
                env={k: os.environ.get(k) for k in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'MKL_CBWR', 'MKL_DYNAMIC')},
                ptr_mod_4096={k: int(v.data_ptr() % 4096) for k, v in sds[0].items()},
                accuracy=[m['test_accuracy'] for m in metas])
    (out/'info.json').write_text(json.dumps(info))


# ---------------------------------------------------------------------------------------------- the driver
LOAD = ("import torch, time\ntorch.set_num_threads(1)\na = torch.randn(384, 384)\n"
        "while True:\n    b = a @ a\n    s = float(b.sum())\n")

def parse_config(s:str)->dict:
    "'threads=1;MKL_CBWR=AVX2;deterministic=1;align=3' -> {'threads': 1, 'env': {...}, ...}; 'default' -> {}."
    cfg = dict(env={}, name=s)
    for item in ([] if s == 'default' else s.split(';')):
        k, v = item.split('=', 1)
        if k in ('threads', 'align', 'deterministic'): cfg[k] = int(v)
        elif v == 'unset': cfg['env'][k] = None
        else: cfg['env'][k] = v
    return cfg

def start_run(cfg:dict, a, folder:Path)->subprocess.Popen:
    env = dict(os.environ)
    for k, v in cfg['env'].items():
        if v is None: env.pop(k, None)
        else: env[k] = v
    cmd = [sys.executable, __file__, '--worker', '--out', str(folder), '--seed', str(a.seed), '--instances',
           str(a.instances), '--epochs', str(a.epochs), '--threads', str(cfg.get('threads', 0)),
           '--align', str(cfg.get('align', 0)), '--deterministic', str(cfg.get('deterministic', 0))]
    if a.data: cmd += ['--data', str(a.data)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

def compare(ref:dict, res:dict, K:int)->dict|None:
    "None when the runs agree bit for bit, else where they first differ and by how much at the end."
    a, b = ref['cks'], res['cks']
    if a.shape != b.shape or list(ref['names']) != list(res['names']):
        return dict(first='different op sequences', max_abs_diff=None)
    out = None
    bad = np.nonzero((a != b).any(axis=(1, 2)))[0]
    if len(bad):
        i = int(bad[0])
        inputs_equal = bool((a[i, 1:] == b[i, 1:]).all())    # column 0 is the output
        step = int(sum(1 for n in ref['names'][:i + 1] if n == 'adam') // 6)
        out = dict(op_index=i, op=str(ref['names'][i]), step=step, inputs_equal=inputs_equal,
                   instances=[k for k in range(K) if (a[i, :, k] != b[i, :, k]).any()])
    diffs = {k: float(np.abs(ref[k] - res[k]).max()) for k in ref.files if k.startswith('w')}
    differing = {k: d for k, d in diffs.items() if d > 0 or not np.array_equal(ref[k].view(np.int32), res[k].view(np.int32))}
    if differing or out:
        out = dict(out or dict(first='only the final weights'), weights_differ=sorted(differing),
                   max_abs_diff=max(differing.values(), default=0.0))
    return out

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--out', default=None, help=argparse.SUPPRESS)
    p.add_argument('--threads', type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument('--align', type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument('--deterministic', type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument('--data', default=None, help="MNIST folder (default: $REPSIM_DATA)")
    p.add_argument('--runs', type=int, default=8, help="runs per configuration")
    p.add_argument('--parallel', type=int, default=2, help="runs at a time")
    p.add_argument('--load', type=int, default=2, help="extra CPU-bound load processes during the runs")
    p.add_argument('--instances', type=int, default=2)
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--seed', type=int, default=7)
    p.add_argument('--config', action='append', default=None,
                   help="a configuration: 'default' or ';'-separated threads=N, align=N (floats), deterministic=1, "
                        "ENV=VALUE, ENV=unset; repeat to interleave configurations (all compared with the first run)")
    p.add_argument('--json', default=None, help="write the summary here")
    p.add_argument('--keep', action='store_true', help="keep the runs' folders")
    a = p.parse_args(argv)
    if a.worker: return _worker(a)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))     # so that `finally` stops the load processes
    cfgs = [parse_config(c) for c in (a.config or ['default'])]
    jobs = [cfg for _ in range(a.runs) for cfg in cfgs]          # configurations interleaved
    root = Path(tempfile.mkdtemp(prefix='stress_det_'))
    load = [subprocess.Popen([sys.executable, '-c', LOAD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(a.load)]
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
    wall = time.time() - t0
    done.sort(key=lambda r: r[0])
    results, rows, ok = {}, [], True
    for j, proc, cfg in done:
        log = proc.stdout.read(); proc.stdout.close()
        if proc.returncode != 0:
            print(f"run {j} ({cfg['name']}) failed:\n{log}", file=sys.stderr); ok = False; continue
        results[j] = np.load(root/f'run{j}'/'result.npz')
        info = json.loads((root/f'run{j}'/'info.json').read_text())
        diff = compare(results[min(results)], results[j], a.instances) if j != min(results) else None
        ok &= diff is None
        rows.append(dict(run=j, config=cfg['name'], seconds=round(info['seconds'], 2), threads=info['threads'],
                         ptr_mod_4096=info['ptr_mod_4096']['fc0.weight'], ops=info['ops'], diff=diff))
        print(f"run {j:3d} {cfg['name']:<28} {info['threads']} thr {info['seconds']:6.1f} s  "
              + ("identical" if diff is None else f"DIFFERS: {diff}"), flush=True)
    summary = dict(ok=ok, runs=len(jobs), parallel=a.parallel, load=a.load, wall_seconds=round(wall, 1),
                   instances=a.instances, epochs=a.epochs, seed=a.seed, rows=rows)
    print(f"{len(jobs)} runs, {a.parallel} at a time, {a.load} load processes, {wall:.0f} s: "
          + ("all identical bit for bit" if ok else "NOT all identical"))
    if a.json: Path(a.json).write_text(json.dumps(summary, indent=2))
    if not a.keep:
        import shutil; shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main() or 0)
