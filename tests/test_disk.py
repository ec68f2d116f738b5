"""A full disk and a read-only folder under a running `repsim run`: a clear error naming the file (exit 2), every
earlier file intact, no temporary file left behind, and the rerun, once space is freed or the folder writable again,
resumes to exactly the result of an uninterrupted run (weights bit for bit, report.json equal).

Two ways to make the faults, chosen at run time and printed:
- real (as root where `mount` works, as in this project's container): OUT lives on a 4 MB tmpfs mounted for the
  test; the disk is filled with a filler file leaving a few KB, and folders are made read-only with a read-only
  bind mount (chmod does not stop root);
- injected (where mounting is not allowed, e.g. CI without root): the same scenarios with the errors raised by a
  patched `os.fdopen`/`tempfile.mkstemp`/`os.open` in the `repsim` process: ENOSPC once the files under OUT would
  exceed a byte budget, EROFS for any file created under a read-only folder (REPSIM_TEST_INJECT=1 forces this).
About 2 minutes on 2 CPU cores (11 runs of a tiny recipe).
"""
import json, os, shutil, subprocess, sys, tempfile
from pathlib import Path

import pytest
import torch

from repsim.training import data_root, load_instance, sha256

MNIST = data_root()
pytestmark = pytest.mark.skipif(not (MNIST/'MNIST'/'raw'/'t10k-images-idx3-ubyte').exists(),
                                reason=f"no MNIST at {MNIST}; set REPSIM_DATA")
ARGS = ['--instances', '3', '--epochs', '1', '--chunk', '1', '--batch-size', '30000', '--images', '200',
        '--no-controls', '--quiet']

# Injected faults, run in the `repsim` process before the command (only when the file system cannot be mounted).
INJECT = r'''
import errno, os, tempfile
full, ro = os.environ.get('REPSIM_TEST_FULL'), os.environ.get('REPSIM_TEST_RO')
def used(root): return sum(f.stat().st_size for f in __import__('pathlib').Path(root).rglob('*') if f.is_file())
if full:
    root, cap = full.rsplit(':', 1)
    fdopen = os.fdopen
    class Full:
        def __init__(self, f, base): self.f, self.base, self.n = f, base, 0
        def write(self, b):
            if self.base + self.n + len(b) > int(cap): raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.n += len(b); return self.f.write(b)
        def __getattr__(self, k): return getattr(self.f, k)
        def __enter__(self): return self
        def __exit__(self, *a): return self.f.__exit__(*a)
    def fdopen_full(fd, *a, **k):
        f = fdopen(fd, *a, **k)
        name = os.readlink(f'/proc/self/fd/{fd}') if os.path.exists(f'/proc/self/fd/{fd}') else ''
        return Full(f, used(root)) if name.startswith(root) else f
    os.fdopen = fdopen_full
if ro:
    mkstemp, osopen = tempfile.mkstemp, os.open
    def mkstemp_ro(*a, dir=None, **k):
        if dir is not None and str(dir).startswith(ro): raise OSError(errno.EROFS, os.strerror(errno.EROFS), dir)
        return mkstemp(*a, dir=dir, **k)
    def open_ro(path, flags, *a, **k):
        if str(path).startswith(ro) and flags & os.O_CREAT: raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)
        return osopen(path, flags, *a, **k)
    tempfile.mkstemp, os.open = mkstemp_ro, open_ro
'''


def _can_mount() -> bool:
    if os.environ.get('REPSIM_TEST_INJECT'): return False          # force the injected faults (to test them here)
    d = tempfile.mkdtemp()
    try:
        ok = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', d], capture_output=True).returncode == 0
        if ok: subprocess.run(['umount', d], check=True)
        return ok
    except OSError: return False
    finally: os.rmdir(d)


class Disk:
    "A small file system for OUT: a real tmpfs where mounting works, else a plain folder with injected faults."
    def __init__(self, size_kb:int=4096):
        self.root, self.real, self.env, self.ro = Path(tempfile.mkdtemp(prefix='repsim_disk_')), _can_mount(), {}, []
        if self.real:
            subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size_kb}k', 'tmpfs', str(self.root)], check=True)
        print(f"\nfaults: {'real: a tmpfs of %d KB and read-only bind mounts' % size_kb if self.real else 'injected'}")

    def fill(self, leave_kb:int):
        "Leave only about leave_kb free."
        if self.real:
            st = os.statvfs(self.root)
            with open(self.root/'filler', 'wb') as f: f.write(bytes(st.f_bavail * st.f_frsize - leave_kb * 1024))
        else:
            used = sum(f.stat().st_size for f in self.root.rglob('*') if f.is_file())
            self.env['REPSIM_TEST_FULL'] = f"{self.root}:{used + leave_kb * 1024}"

    def free(self):
        (self.root/'filler').unlink(missing_ok=True); self.env.pop('REPSIM_TEST_FULL', None)

    def read_only(self, path:Path):
        path.mkdir(parents=True, exist_ok=True)
        if self.real:
            subprocess.run(['mount', '--bind', str(path), str(path)], check=True)
            subprocess.run(['mount', '-o', 'remount,ro,bind', str(path)], check=True)
            self.ro.append(path)
        else: self.env['REPSIM_TEST_RO'] = str(path)

    def writable(self):
        for p in reversed(self.ro): subprocess.run(['umount', str(p)], check=True)
        self.ro = []; self.env.pop('REPSIM_TEST_RO', None)

    def repsim_run(self, out:Path) -> subprocess.CompletedProcess:
        code = ('' if self.real else INJECT) + '\nfrom repsim.cli import main; main()'
        return subprocess.run([sys.executable, '-c', code, 'run', '--data', str(MNIST), '--out', str(out), *ARGS],
                              capture_output=True, text=True, env=dict(os.environ, **self.env))

    def close(self):
        self.writable()
        if self.real: subprocess.run(['umount', str(self.root)], check=True)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def disk():
    d = Disk(); yield d; d.close()


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    "An uninterrupted run on an ordinary disk."
    out = tmp_path_factory.mktemp('disk')/'ref'
    r = subprocess.run([sys.executable, '-c', 'from repsim.cli import main; main()', 'run', '--data', str(MNIST),
                        '--out', str(out), *ARGS], capture_output=True, text=True)
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
    "No temporary file; every checkpoint and JSON under a real name is whole and matches its recorded SHA-256."
    assert not [f for f in out.rglob('*.tmp')], sorted(out.rglob('*.tmp'))
    w = out/'stored_model_weights'
    for f in w.glob('model_inst_*.json'):
        assert json.loads(f.read_text())['sha256'] == sha256(w/f.name[:-5]); load_instance(w/f.name[:-5])
    for name in ('run.json', 'report.json'):
        if (out/name).exists(): json.loads((out/name).read_text())


def same_result(out:Path, ref:Path):
    for i in range(3):
        a = torch.load(out/'stored_model_weights'/f'model_inst_{i}', weights_only=True)
        b = torch.load(ref/'stored_model_weights'/f'model_inst_{i}', weights_only=True)
        assert all(torch.equal(a[k], b[k]) for k in b), i
    assert json.loads((out/'report.json').read_text()) == json.loads((ref/'report.json').read_text())
    assert (out/'report.md').read_text() == (ref/'report.md').read_text()


def test_disk_full_while_writing_checkpoints(disk, reference):
    out = disk.root/'out'
    disk.fill(leave_kb=160)                                    # room for one checkpoint (about 105 KB), not two
    last = refused(disk.repsim_run(out), f"could not write {out/'stored_model_weights'}", "no space left on the device",
                   "run the same command again to resume")
    check_intact(out)
    done = sorted(p.name for p in (out/'stored_model_weights').glob('model_inst_*.json'))
    assert 1 <= len(done) < 3 and not (out/'report.json').exists(), done
    stamp = (out/'stored_model_weights'/'model_inst_0').stat().st_mtime_ns
    disk.free()
    r = disk.repsim_run(out)                                   # the same command, with space again: resumes
    assert r.returncode == 0, r.stderr
    assert (out/'stored_model_weights'/'model_inst_0').stat().st_mtime_ns == stamp      # not retrained
    check_intact(out)
    same_result(out, reference)


def test_disk_full_while_writing_the_report(disk, reference):
    out = disk.root/'out'
    assert disk.repsim_run(out).returncode == 0
    before = files(out)
    disk.fill(leave_kb=24)                                     # less than the figures need
    refused(disk.repsim_run(out), f"could not write {out}", "no space left on the device")
    check_intact(out)
    assert files(out) == before                                # the earlier report, figures, checkpoints: unchanged
    disk.free()
    assert disk.repsim_run(out).returncode == 0
    same_result(out, reference)


def test_read_only_folders(disk, reference):
    out = disk.root/'out'
    disk.read_only(out/'stored_model_weights')                 # checkpoints cannot be written
    refused(disk.repsim_run(out), f"could not write {out/'stored_model_weights'/'model_inst_0'}",
            "the file system is read-only")
    check_intact(out)
    assert not list((out/'stored_model_weights').iterdir())
    disk.writable(); disk.read_only(out/'figures')             # now the figures cannot be written
    refused(disk.repsim_run(out), f"could not write {out/'figures'}", "the file system is read-only")
    check_intact(out)
    assert len(list((out/'stored_model_weights').glob('model_inst_*.json'))) == 3 and not (out/'report.json').exists()
    before = files(out)
    disk.writable(); disk.read_only(out)                       # the whole run folder: not even the lock
    refused(disk.repsim_run(out), f"could not write {out/'.repsim.lock'}", "the file system is read-only")
    assert files(out) == before
    disk.writable()
    assert disk.repsim_run(out).returncode == 0
    same_result(out, reference)
