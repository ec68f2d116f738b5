"""Scaling of `repsim run` in the number of instances: wall time, CPU time, peak RSS (a benchmark).

    python tools/scale_table.py --ks 50 100 200 300 --epochs 1 --out /tmp/scale [-- more args]

Runs `repsim run --instances K --epochs E --out OUT/kK --quiet` for each K, one process each, under
/usr/bin/time -v, and prints a markdown table of wall time, CPU time (user + system; steadier than
wall time on a shared machine) and peak resident memory (maximum RSS of the run's process).
Needs MNIST (REPSIM_DATA or --data). Writes OUT/scale.json with the numbers.
"""
import argparse, json, os, re, subprocess, sys, time
from pathlib import Path


def measure(k:int, epochs:int, out:Path, extra:list)->dict:
    "One run's wall time (s) and peak RSS (GB), from /usr/bin/time -v."
    cmd = [sys.executable, '-m', 'repsim.cli', 'run', '--instances', str(k), '--epochs',
           str(epochs), '--out', str(out/f'k{k}'), '--quiet', *extra]
    t0 = time.time()
    r = subprocess.run(['/usr/bin/time', '-v', *cmd], capture_output=True, text=True)
    wall = time.time() - t0
    if r.returncode: sys.exit(f"K={k} failed:\n{r.stderr[-3000:]}")
    field = lambda name: float(re.search(name + r': ([\d.]+)', r.stderr).group(1))
    rss_kb = field(r'Maximum resident set size \(kbytes\)')
    cpu = field(r'User time \(seconds\)') + field(r'System time \(seconds\)')
    return dict(K=k, epochs=epochs, wall_s=round(wall, 1), cpu_s=round(cpu, 1),
                peak_rss_gb=round(rss_kb / 1e6, 3), load_1min_after=round(os.getloadavg()[0], 2),
                command=' '.join(['repsim', *cmd[3:]]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--ks', type=int, nargs='+', default=[50, 100, 200, 300])
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--out', type=Path, default=Path('/tmp/repsim_scale'))
    p.add_argument('extra', nargs='*', help="more repsim run arguments (after --)")
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    rows = []
    print("| K | wall time | CPU time (user + sys) | peak RSS |\n|---|---|---|---|", flush=True)
    for k in a.ks:
        r = measure(k, a.epochs, a.out, a.extra)
        rows.append(r)
        print(f"| {k} | {r['wall_s'] / 60:.1f} min | {r['cpu_s'] / 60:.1f} min | "
              f"{r['peak_rss_gb']:.2f} GB |", flush=True)
        (a.out/'scale.json').write_text(json.dumps(rows, indent=1))


if __name__ == '__main__': main()
