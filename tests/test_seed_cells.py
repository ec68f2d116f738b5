"""The seed's own code, run unchanged against weights that repsim trained, prints what repsim's report.json says.

Run as a test (pytest) on a small fresh run, or by hand on any run folder:
    python tests/test_seed_cells.py /tmp/r ../shared/mnist
"""
import contextlib, io, json, os, re, sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from seed_cells import CELLS

MEASURES = {'raw cosine similarity': 'raw_cosine', 'sorted cosine similarity': 'sorted_cosine',
            'raw Pearson correlation': 'raw_pearson', 'sorted Pearson correlation': 'sorted_pearson'}
SEED_VARS = {('hidden0', 'raw_cosine'): 'raw_cos0', ('hidden0', 'sorted_cosine'): 'sorted_cos0',
             ('hidden0', 'raw_pearson'): 'raw_corr0', ('hidden0', 'sorted_pearson'): 'sorted_corr0',
             ('hidden1', 'raw_cosine'): 'raw_cos1', ('hidden1', 'sorted_cosine'): 'sorted_cos1',
             ('hidden1', 'raw_pearson'): 'raw_corr1', ('hidden1', 'sorted_pearson'): 'sorted_corr1'}

def run_seed_cells(run_dir: Path, mnist_root: Path):
    "Execute the seed's cells in `run_dir` (which holds stored_model_weights/), MNIST linked as ./data."
    data = run_dir/'data'
    if not data.exists(): data.symlink_to(Path(mnist_root).resolve(), target_is_directory=True)
    ns, buf, cwd = {}, io.StringIO(), os.getcwd()
    try:
        os.chdir(run_dir)
        with contextlib.redirect_stdout(buf):
            for cell in CELLS: exec(compile(cell, '<seed cell>', 'exec'), ns)
    finally: os.chdir(cwd)
    return buf.getvalue(), ns

def compare_with_report(run_dir: Path, mnist_root: Path, tol=1e-4):
    "Largest difference between the seed's numbers and report.json's seed pair; asserts it is below tol."
    printed, ns = run_seed_cells(run_dir, mnist_root)
    rep = json.loads((run_dir/'report.json').read_text())['seed_pair']
    assert (rep['a'], rep['b']) == ('model_inst_0', 'model_inst_4'), rep
    worst = 0.0
    for (layer, m), var in SEED_VARS.items():
        s = rep['measures'][m][layer]
        for got, want in ((np.mean(ns[var]), s['mean']), (np.std(ns[var]), s['std'])):
            worst = max(worst, abs(got - want))
    assert worst < tol, worst
    lines = re.findall(r'Layer (\d) (.+?): (-?\d\.\d{3}) ± (\d\.\d{3})', printed)
    assert len(lines) == 8, printed
    for layer, name, mean, std in lines:
        s = rep['measures'][MEASURES[name]][f'hidden{layer}']
        assert abs(float(mean) - s['mean']) <= 5e-4 + tol and abs(float(std) - s['std']) <= 5e-4 + tol, (name, mean, std, s)
    return worst, printed

def test_seed_cells_match_report(tmp_path):
    from repsim.cli import run_command
    from repsim.data import data_root
    mnist = data_root()
    if not (mnist/'MNIST'/'raw'/'t10k-images-idx3-ubyte').exists(): pytest.skip(f"no MNIST at {mnist}; set REPSIM_DATA")
    run = tmp_path/'run'
    assert run_command(['run', '--data', str(mnist), '--out', str(run), '--instances', '5', '--epochs', '1', '--quiet', '--no-controls']) == 0
    worst, printed = compare_with_report(run, mnist)
    print(printed, f'largest difference: {worst:.2e}')

if __name__ == '__main__':
    worst, printed = compare_with_report(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else os.environ.get('REPSIM_DATA', 'data')))
    print(printed + f"largest difference between the seed's numbers and report.json: {worst:.2e}")
