"""An interrupted `repsim run` resumes to exactly the result of an uninterrupted one, and the same arguments give
the same bits (CPU). The literate version of these checks is nbs/21_resume.ipynb (its slow cells).

`repsim run` is started as a real process and killed with SIGKILL as soon as instance 0 is stored, while instance
1 trains; the same command is then run again to completion and compared, weights tensor by tensor and
report.json/report.md whole, with an uninterrupted run B. A second uninterrupted run C checks determinism.
About a minute on 2 CPU cores.
"""
import json, signal, subprocess, sys, time
from pathlib import Path

import pytest
import torch

from repsim.core import sha256
from repsim.data import data_root
from repsim.store import load_instance, load_instances

MNIST = data_root()
pytestmark = pytest.mark.skipif(not (MNIST/'MNIST'/'raw'/'t10k-images-idx3-ubyte').exists(),
                                reason=f"no MNIST at {MNIST}; set REPSIM_DATA")
N = 3


def repsim_run(out: Path) -> list[str]:
    return [sys.executable, '-c', 'from repsim.cli import main; main()', 'run', '--data', str(MNIST), '--out', str(out),
            '--instances', str(N), '--epochs', '1', '--chunk', '1', '--images', '200', '--no-controls', '--quiet']


def run_to_end(out: Path):
    r = subprocess.run(repsim_run(out), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def run_and_kill(out: Path, timeout: float = 300) -> list[str]:
    "Start `repsim run`, SIGKILL it as soon as instance 0 is stored; return the metadata files present then."
    proc = subprocess.Popen(repsim_run(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first, t0 = out/'stored_model_weights'/'model_inst_0.json', time.time()
    try:
        while not first.exists():
            assert proc.poll() is None, f"repsim run ended before instance 0 was stored: {proc.stderr.read().decode()}"
            assert time.time() - t0 < timeout, "instance 0 never appeared"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill(); proc.wait(); proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, proc.returncode
    return sorted(p.name for p in (out/'stored_model_weights').glob('model_inst_*.json'))


def check_nothing_half_written(out: Path):
    """Every checkpoint and JSON file under a real name is whole; the only other files are atomic_write's temporaries
    and the lock file a killed run leaves behind."""
    w = out/'stored_model_weights'
    for f in out.rglob('*'):
        if f.is_dir() or f.name.endswith('.tmp') or f.parent.name == 'figures': continue
        if f.name in ('report.md', 'report.html', '.repsim.lock'): continue
        if f.parent == out:
            assert f.name in ('run.json', 'report.json'), f
            json.loads(f.read_text()); continue
        assert f.parent == w, f
        if f.name.endswith('.json'): assert json.loads(f.read_text())['sha256'] == sha256(w/f.name[:-5]), f
        else: load_instance(f)
    for f in out.rglob('*.tmp'): assert f.name.startswith(('.model_inst_', '.run.json.')), f
    load_instances(w)


def assert_same_weights(x: Path, y: Path):
    for i in range(N):
        sx = torch.load(x/'stored_model_weights'/f'model_inst_{i}', weights_only=True)
        sy = torch.load(y/'stored_model_weights'/f'model_inst_{i}', weights_only=True)
        assert set(sx) == set(sy)
        for k in sx: assert torch.equal(sx[k], sy[k]), (i, k)


def assert_same_report(x: Path, y: Path):
    assert json.loads((x/'report.json').read_text()) == json.loads((y/'report.json').read_text())
    assert (x/'report.md').read_text() == (y/'report.md').read_text()


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    "An uninterrupted run."
    out = tmp_path_factory.mktemp('resume')/'B'
    run_to_end(out)
    return out


def test_interrupted_run_resumes_to_the_same_result(reference, tmp_path):
    A = tmp_path/'A'
    done = run_and_kill(A)
    assert 'model_inst_0.json' in done and f'model_inst_{N-1}.json' not in done, done   # killed mid-run
    check_nothing_half_written(A)
    assert not (A/'report.json').exists()
    stamp = (A/'stored_model_weights'/'model_inst_0').stat().st_mtime_ns
    run_to_end(A)                                                                          # the same command
    assert (A/'stored_model_weights'/'model_inst_0').stat().st_mtime_ns == stamp           # not retrained
    check_nothing_half_written(A)
    assert_same_weights(A, reference)
    for i in range(N):                                                                     # metadata too
        name = f'model_inst_{i}.json'
        assert (A/'stored_model_weights'/name).read_text() == (reference/'stored_model_weights'/name).read_text()
    assert_same_report(A, reference)


def test_same_arguments_same_result(reference, tmp_path):
    C = tmp_path/'C'
    run_to_end(C)
    assert_same_weights(C, reference)
    assert_same_report(C, reference)
    for png in (reference/'figures').glob('*.png'):
        assert png.read_bytes() == (C/'figures'/png.name).read_bytes(), png.name
