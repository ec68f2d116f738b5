"""Compare two report.json files number by number: the largest difference, and where it is.

    python tools/compare_reports.py A/report.json B/report.json [--tol 1e-6] [--ignore PATH ...]

Walks both JSON trees together; numbers are compared by absolute difference (NaN equals NaN), every
other value must be equal, and the two trees must have the same keys and list lengths. Paths given
with --ignore (dotted, e.g. `config.memory_budget`) are skipped. Exit status 0 if the largest
difference is at most --tol and nothing else differs, 1 otherwise.
"""
import argparse, json, math, sys


def walk(a, b, path, ignore, out):
    "Append (difference, path) for numbers and (inf, path) for anything else that differs."
    if path in ignore: return
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None or isinstance(a, str):
        if a != b: out.append((math.inf, path, a, b))
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isnan(a) and math.isnan(b): return
        out.append((abs(a - b) if not (math.isnan(a) or math.isnan(b)) else math.inf, path, a, b))
    elif isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            p = f"{path}.{k}" if path else k
            if p in ignore: continue
            if k not in a or k not in b: out.append((math.inf, p, a.get(k, '<missing>'),
                                                     b.get(k, '<missing>')))
            else: walk(a[k], b[k], p, ignore, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b): out.append((math.inf, f"{path}[len]", len(a), len(b)))
        else:
            for i, (x, y) in enumerate(zip(a, b)): walk(x, y, f"{path}[{i}]", ignore, out)
    elif a != b: out.append((math.inf, path, a, b))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('a'); p.add_argument('b')
    p.add_argument('--tol', type=float, default=1e-6)
    p.add_argument('--ignore', nargs='*', default=[])
    a = p.parse_args(argv)
    out = []
    walk(json.load(open(a.a)), json.load(open(a.b)), '', set(a.ignore), out)
    nums = [d for d, *_ in out if d != math.inf]
    worst = sorted(out, key=lambda r: -r[0])[:5]
    print(f"compared {len(out)} values; largest numeric difference "
          f"{max(nums) if nums else 0:.3g}; non-numeric differences "
          f"{sum(d == math.inf for d, *_ in out)}")
    for d, path, x, y in worst:
        if d > 0: print(f"  {d:.3g} at {path}: {str(x)[:60]} vs {str(y)[:60]}")
    ok = all(d <= a.tol for d, *_ in out)
    print(f"EQUAL within {a.tol}" if ok else f"NOT equal within {a.tol}")
    return 0 if ok else 1


if __name__ == '__main__': sys.exit(main())
