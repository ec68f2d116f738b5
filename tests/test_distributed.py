"""`repsim run` under `torchrun --standalone --nproc_per_node 2` (CPU, gloo): one process's report.

The two processes each train half of the instances (instance i on rank i % 2, shown in the
log), wait for each other, and rank 0 compares and writes the report. report.json must equal
the single-process run's to 1e-5 (the processes' thread counts may change summation order)
apart from config.world_size, which records 2 and 1. A tiny run (4 instances, 1 epoch, 100
images, no controls): about 30 s of CPU.
"""
import json, os, subprocess, sys
from pathlib import Path

import pytest

from repsim.data import data_root

sys.path.insert(0, str(Path(__file__).parents[1]/'tools'))
from compare_reports import walk

MNIST = data_root()
pytestmark = pytest.mark.skipif(not (MNIST/'MNIST'/'raw'/'t10k-images-idx3-ubyte').exists(),
                                reason=f"no MNIST at {MNIST}; set REPSIM_DATA")
ARGS = ['run', '--instances', '4', '--epochs', '1', '--images', '100', '--no-controls', '--quiet',
        '--data', str(MNIST)]


def run(cmd: list, out: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK')}
    r = subprocess.run([*cmd, *ARGS, '--out', str(out)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def test_two_processes_equal_one(tmp_path):
    one = run([sys.executable, '-m', 'repsim.cli'], tmp_path/'one')
    two = run([sys.executable, '-m', 'torch.distributed.run', '--standalone',
               '--nproc_per_node', '2', '-m', 'repsim.cli'], tmp_path/'two')
    assert 'rank 0 of 2 trained instances [0, 2]' in two.stderr, two.stderr
    assert 'rank 1 of 2 trained instances [1, 3]' in two.stderr, two.stderr
    assert 'trained instances' not in one.stderr                   # one process: no sharing
    a, b = (json.loads((tmp_path/d/'report.json').read_text()) for d in ('one', 'two'))
    assert (a['config']['world_size'], b['config']['world_size']) == (1, 2)
    diffs = []
    walk(a, b, '', {'config.world_size'}, diffs)
    assert diffs and all(d <= 1e-5 for d, *_ in diffs), sorted(diffs, key=lambda r: -r[0])[:3]
    files = sorted(p.name for p in (tmp_path/'two'/'stored_model_weights').iterdir())
    assert files == sorted(p.name for p in (tmp_path/'one'/'stored_model_weights').iterdir())
