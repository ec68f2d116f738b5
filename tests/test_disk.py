"""A full disk and a read-only folder under a running `repsim run`: a clear error naming the file
(exit 2), every earlier file intact, no temporary file left behind, and the rerun, once space is
freed or the folder writable again, resumes to exactly the result of an uninterrupted run (weights
bit for bit, report.json and report.md equal).

Two ways to make the faults (tests/faults.py), chosen at run time and printed: real, with OUT on a
4 MB tmpfs mounted for the test, filled up by a filler file, and folders made read-only by
read-only bind mounts (where `mount` works: as root, as in this project's container); or
injected, with ENOSPC/EROFS raised by patched file functions in the `repsim` process (where
mounting is not allowed, e.g. CI without root, or with REPSIM_TEST_INJECT=1).
About 1.5 minutes on 2 CPU cores (11 runs of a tiny recipe).
"""
import json, subprocess, sys
from pathlib import Path

import pytest
import torch

from repsim.core import sha256
from repsim.store import load_instance

sys.path.insert(0, str(Path(__file__).parent))
from faults import ARGS, MNIST, Disk

pytestmark = pytest.mark.skipif(not (MNIST/'MNIST'/'raw'/'t10k-images-idx3-ubyte').exists(),
                                reason=f"no MNIST at {MNIST}; set REPSIM_DATA")


@pytest.fixture
def disk():
    d = Disk(); yield d; d.close()


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    "An uninterrupted run on an ordinary disk."
    out = tmp_path_factory.mktemp('disk')/'ref'
    r = subprocess.run([sys.executable, '-c', 'from repsim.cli import main; main()', 'run',
                        '--data', str(MNIST), '--out', str(out), *ARGS],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def refused(r, *contains):
    "Exit 2 with one clear line, no traceback; returns that line."
    last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ''
    assert r.returncode == 2 and 'Traceback' not in r.stderr, (r.returncode, r.stderr)
    for c in contains: assert c in last, (c, last)
    print(last)
    return last


def files(out:Path) -> dict:
    return {f.relative_to(out): f.read_bytes() for f in sorted(out.rglob('*')) if f.is_file()}


def check_intact(out:Path):
    "No temporary file; every checkpoint (SHA-256) and JSON under a real name is whole."
    assert not [f for f in out.rglob('*.tmp')], sorted(out.rglob('*.tmp'))
    w = out/'stored_model_weights'
    for f in w.glob('model_inst_*.json'):
        assert json.loads(f.read_text())['sha256'] == sha256(w/f.name[:-5])
        load_instance(w/f.name[:-5])
    for name in ('run.json', 'report.json'):
        if (out/name).exists(): json.loads((out/name).read_text())


def same_result(out:Path, ref:Path):
    for i in range(3):
        a = torch.load(out/'stored_model_weights'/f'model_inst_{i}', weights_only=True)
        b = torch.load(ref/'stored_model_weights'/f'model_inst_{i}', weights_only=True)
        assert all(torch.equal(a[k], b[k]) for k in b), i
    report = lambda d: json.loads((d/'report.json').read_text())
    assert report(out) == report(ref)
    assert (out/'report.md').read_text() == (ref/'report.md').read_text()


def test_disk_full_while_writing_checkpoints(disk, reference):
    out = disk.root/'out'
    disk.fill(leave_kb=160)                          # room for one checkpoint (105 KB), not two
    refused(disk.repsim_run(out), f"could not write {out/'stored_model_weights'}",
            "no space left on the device", "run the same command again to resume")
    check_intact(out)
    done = sorted(p.name for p in (out/'stored_model_weights').glob('model_inst_*.json'))
    assert 1 <= len(done) < 3 and not (out/'report.json').exists(), done
    stamp = (out/'stored_model_weights'/'model_inst_0').stat().st_mtime_ns
    disk.free()
    r = disk.repsim_run(out)                         # the same command, with space again: resumes
    assert r.returncode == 0, r.stderr
    assert (out/'stored_model_weights'/'model_inst_0').stat().st_mtime_ns == stamp  # not retrained
    check_intact(out)
    same_result(out, reference)


def test_disk_full_while_writing_the_report(disk, reference):
    out = disk.root/'out'
    assert disk.repsim_run(out).returncode == 0
    before = files(out)
    disk.fill(leave_kb=24)                           # less than the figures need
    refused(disk.repsim_run(out), f"could not write {out}", "no space left on the device")
    check_intact(out)
    assert files(out) == before                      # report, figures, checkpoints: unchanged
    disk.free()
    assert disk.repsim_run(out).returncode == 0
    same_result(out, reference)


def test_read_only_folders(disk, reference):
    out = disk.root/'out'
    disk.read_only(out/'stored_model_weights')       # checkpoints cannot be written
    refused(disk.repsim_run(out), f"could not write {out/'stored_model_weights'/'model_inst_0'}",
            "the file system is read-only")
    check_intact(out)
    assert not list((out/'stored_model_weights').iterdir())
    disk.writable(); disk.read_only(out/'figures')   # now the figures cannot be written
    refused(disk.repsim_run(out), f"could not write {out/'figures'}",
            "the file system is read-only")
    check_intact(out)
    assert len(list((out/'stored_model_weights').glob('model_inst_*.json'))) == 3
    assert not (out/'report.json').exists()
    before = files(out)
    disk.writable(); disk.read_only(out)             # the whole run folder: not even the lock
    refused(disk.repsim_run(out), f"could not write {out/'.repsim.lock'}",
            "the file system is read-only")
    assert files(out) == before
    disk.writable()
    assert disk.repsim_run(out).returncode == 0
    same_result(out, reference)
