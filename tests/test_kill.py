"""Kills anywhere: `repsim run` is SIGKILLed at random moments and at chosen ones, rerun with the
same command each time, and must end with exactly the result of an uninterrupted run.

A small run (3 instances, 1 epoch on all 60,000 images, trained 2 at a time with `--chunk 2`,
compared on 200 images): at least 10 kills in two run folders.
- Chosen moments, one run folder: as the first chunk's checkpoints are written (or just after);
  between the two chunks (instances 0 and 1 stored, 2 training); while comparing; while a figure is
  being written; while the report files are written (a window of milliseconds, which the 2 ms
  polling may miss: then that run completes).
- Random moments: 6 kills at times drawn uniformly between the moment the reference run took its
  lock and its end (seeded, printed). A resumed run has less left to do, so a draw may come after
  it completes: that is no kill; the completed folder must equal the uninterrupted run, and the
  next draws go to a new folder (kills are then not used up on finished runs).
After every kill, every file under a real name is whole (checkpoints load and match their SHA-256,
JSON parses). After the last, the same command completes; the weights equal the uninterrupted run's
bit for bit, report.json and report.md are equal whole (no field is excluded: report.json records
no time and no absolute path), and no temporary or lock file is left. Resumed runs train the
remaining instances in other stacks than the uninterrupted run (e.g. instance 1 beside instance 2
instead of instance 0), which the training guarantees to give the same bits.
About 1.5-2.5 minutes on 2 CPU cores (OMP_NUM_THREADS=1, as tools/test.sh sets it).
"""
import json, random, signal, subprocess, sys, time
from pathlib import Path

import pytest
import torch

from repsim.core import sha256
from repsim.data import data_root
from repsim.store import load_instance

MNIST = data_root()
pytestmark = pytest.mark.skipif(not (MNIST/'MNIST'/'raw'/'t10k-images-idx3-ubyte').exists(),
                                reason=f"no MNIST at {MNIST}; set REPSIM_DATA")
N = 3


def command(out:Path) -> list[str]:
    return [sys.executable, '-c', 'from repsim.cli import main; main()', 'run',
            '--data', str(MNIST), '--out', str(out), '--instances', str(N), '--epochs', '1',
            '--chunk', '2', '--images', '200', '--no-controls', '--quiet']


def start(out:Path) -> subprocess.Popen:
    return subprocess.Popen(command(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish(proc:subprocess.Popen) -> int:
    proc.wait(); err = proc.stderr.read().decode(); proc.stderr.close()
    assert proc.returncode in (0, -signal.SIGKILL), err
    return proc.returncode


def kill_when(out:Path, moment) -> bool:
    "Run the command; SIGKILL it once moment(out, seconds since start) holds. Was it killed?"
    proc, t0 = start(out), time.time()
    while proc.poll() is None:
        if moment(out, time.time() - t0): proc.send_signal(signal.SIGKILL); break
        time.sleep(0.002)
    return finish(proc) == -signal.SIGKILL


def state(out:Path) -> str:
    "What a killed run left: complete checkpoints, figures, report."
    ckpts = len(list((out/'stored_model_weights').glob('model_inst_*.json')))
    figures = len(list(out.glob('figures/*.png')))
    return f"{ckpts} checkpoints, {figures} figures, report {(out/'report.json').exists()}"


def check_whole(out:Path):
    "Every checkpoint and JSON file under a real name is whole."
    w = out/'stored_model_weights'
    for f in w.glob('model_inst_*.json'):
        assert json.loads(f.read_text())['sha256'] == sha256(w/f.name[:-5]), f
        load_instance(w/f.name[:-5])
    for name in ('run.json', 'report.json'):
        if (out/name).exists(): json.loads((out/name).read_text())


def same_result(out:Path, ref:Path):
    for i in range(N):
        a = torch.load(out/'stored_model_weights'/f'model_inst_{i}', weights_only=True)
        b = torch.load(ref/'stored_model_weights'/f'model_inst_{i}', weights_only=True)
        assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in b), i
    report = lambda d: json.loads((d/'report.json').read_text())
    assert report(out) == report(ref)
    assert (out/'report.md').read_text() == (ref/'report.md').read_text()
    left = sorted(str(f.relative_to(out)) for f in out.rglob('*')
                  if f.name.endswith('.tmp') or f.name == '.repsim.lock')
    assert left == [], left


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    "An uninterrupted run, and when (seconds after its start) it took its lock and ended."
    out = tmp_path_factory.mktemp('kill')/'ref'
    proc, t0, t_lock = start(out), time.time(), None
    while proc.poll() is None:
        if t_lock is None and (out/'.repsim.lock').exists(): t_lock = time.time() - t0
        time.sleep(0.002)
    assert finish(proc) == 0
    return out, t_lock or 0.0, time.time() - t0


def exists(*names): return lambda out, t: all((out/n).exists() for n in names)

def has(pattern): return lambda out, t: any(out.glob(pattern))

def both(p, q): return lambda out, t: p(out, t) and q(out, t)

def absent(name): return lambda out, t: not (out/name).exists()

W = 'stored_model_weights'
def either(p, q): return lambda out, t: p(out, t) or q(out, t)

W = 'stored_model_weights'
MOMENTS = {                                         # in the order a run reaches them
    'writing checkpoints': either(has(f'{W}/.model_inst_*.tmp'), exists(f'{W}/model_inst_0')),
    'between checkpoints (chunk 2 training)': both(exists(f'{W}/model_inst_1.json'),
                                                   absent(f'{W}/model_inst_2.json')),
    'comparing': both(exists(f'{W}/model_inst_2.json'), absent('figures')),
    'writing a figure': has('figures/.*.tmp'),
    'writing the report files': either(has('.report.*.tmp'), exists('report.md')),
}


def test_kills_at_chosen_moments(reference, tmp_path):
    ref, _, _ = reference
    out, kills = tmp_path/'chosen', []
    for name, moment in MOMENTS.items():
        if kill_when(out, moment): kills.append(f"{name} ({state(out)})")
        check_whole(out)
    print(f"killed {len(kills)} times: {kills}")
    assert len(kills) >= 4, kills                   # a window of milliseconds may be missed
    assert finish(start(out)) == 0
    same_result(out, ref)


def test_kills_at_random_moments(reference, tmp_path):
    ref, t_lock, t_end = reference
    rng, kills, rounds, done = random.Random(16), [], 0, 0
    out = tmp_path/'random0'
    while len(kills) < 6 and rounds < 16:
        at, rounds = rng.uniform(t_lock, t_end), rounds + 1
        killed = kill_when(out, lambda out, t: t >= at)
        check_whole(out)
        if killed: kills.append(f"{at:.2f} s ({state(out)})")
        else:                                       # it completed first: the result, then a new folder
            same_result(out, ref); done += 1; out = tmp_path/f'random{done}'
    print(f"killed at {kills} (lock at {t_lock:.1f} s, uninterrupted run {t_end:.1f} s); "
          f"{done} run(s) completed before their draw, each equal to the uninterrupted one")
    assert len(kills) == 6
    assert finish(start(out)) == 0
    same_result(out, ref)
