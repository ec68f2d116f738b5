"""A small file system for a run folder: real faults where the machine allows, else injected ones.

Used by tests/test_disk.py and the faults-and-resume notebook (nbs/21_resume.ipynb):
- real (as root, where `mount` works): a tmpfs of a few MB mounted for the test, filled with a
  filler file to leave a few KB free, and folders made read-only by read-only bind mounts (chmod
  does not stop root);
- injected (where mounting is not allowed, e.g. CI without root, or with REPSIM_TEST_INJECT=1): the
  same faults raised in the `repsim` process by a patched `os.fdopen`, `tempfile.mkstemp` and
  `os.open`: ENOSPC once the files under the folder would exceed a byte budget, EROFS for any file
  created under a read-only folder.
"""
import atexit, os, shutil, subprocess, sys, tempfile
from pathlib import Path

from repsim.data import data_root

MNIST = data_root()
ARGS = ['--instances', '3', '--epochs', '1', '--chunk', '1', '--batch-size', '30000',
        '--images', '200', '--no-controls', '--quiet']

# The injected faults: run in the `repsim` process before the command, when mounting is impossible.
INJECT = r'''
import errno, os, pathlib, tempfile
full, ro = os.environ.get('REPSIM_TEST_FULL'), os.environ.get('REPSIM_TEST_RO')
def fault(code, *name): return OSError(code, os.strerror(code), *name)
def used(root): return sum(f.stat().st_size for f in pathlib.Path(root).rglob('*') if f.is_file())
if full:                                    # "ROOT:BYTES": the files under ROOT hold BYTES at most
    root, cap = full.rsplit(':', 1)
    fdopen = os.fdopen
    class Full:
        def __init__(self, f, base): self.f, self.base, self.n = f, base, 0
        def write(self, b):
            if self.base + self.n + len(b) > int(cap): raise fault(errno.ENOSPC)
            self.n += len(b); return self.f.write(b)
        def __getattr__(self, k): return getattr(self.f, k)
        def __enter__(self): return self
        def __exit__(self, *a): return self.f.__exit__(*a)
    def fdopen_full(fd, *a, **k):
        f, link = fdopen(fd, *a, **k), f'/proc/self/fd/{fd}'
        name = os.readlink(link) if os.path.exists(link) else ''
        return Full(f, used(root)) if name.startswith(root) else f
    os.fdopen = fdopen_full
if ro:                                          # "DIR": nothing can be created under DIR
    mkstemp, osopen = tempfile.mkstemp, os.open
    def mkstemp_ro(*a, dir=None, **k):
        if dir is not None and str(dir).startswith(ro): raise fault(errno.EROFS, dir)
        return mkstemp(*a, dir=dir, **k)
    def open_ro(path, flags, *a, **k):
        if str(path).startswith(ro) and flags & os.O_CREAT: raise fault(errno.EROFS, path)
        return osopen(path, flags, *a, **k)
    tempfile.mkstemp, os.open = mkstemp_ro, open_ro
'''


def _can_mount() -> bool:
    if os.environ.get('REPSIM_TEST_INJECT'): return False            # force the injected faults
    d = tempfile.mkdtemp()
    try:
        mount = ['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', d]
        ok = subprocess.run(mount, capture_output=True).returncode == 0
        if ok: subprocess.run(['umount', d], check=True)
        return ok
    except OSError: return False
    finally: os.rmdir(d)


class Disk:
    "A small file system for OUT: a real tmpfs where mounting works, else injected faults."
    def __init__(self, size_kb:int=4096):
        self.root, self.real = Path(tempfile.mkdtemp(prefix='repsim_disk_')), _can_mount()
        self.env, self.ro = {}, []
        if self.real:
            mount = ['mount', '-t', 'tmpfs', '-o', f'size={size_kb}k', 'tmpfs', str(self.root)]
            subprocess.run(mount, check=True)
        print(f"\nfaults: real: a tmpfs of {size_kb} KB and read-only bind mounts" if self.real
              else "\nfaults: injected")
        atexit.register(self.close)                 # unmounted even if a check fails midway

    def fill(self, leave_kb:int):
        "Leave only about leave_kb free."
        if self.real:
            st = os.statvfs(self.root)
            with open(self.root/'filler', 'wb') as f:
                f.write(bytes(st.f_bavail * st.f_frsize - leave_kb * 1024))
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

    def command(self, out:Path) -> list[str]:
        "`repsim run` of the tiny recipe into out, with injected faults where they are not real."
        code = ('' if self.real else INJECT) + '\nfrom repsim.cli import main; main()'
        return [sys.executable, '-c', code, 'run', '--data', str(MNIST), '--out', str(out), *ARGS]

    def repsim_run(self, out:Path) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(out), capture_output=True, text=True,
                              env=dict(os.environ, **self.env))

    def close(self):
        if not self.root.exists(): return           # closed already
        self.writable()
        if self.real: subprocess.run(['umount', str(self.root)], check=True)
        shutil.rmtree(self.root, ignore_errors=True)
