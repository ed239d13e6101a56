"""One writer per run folder: a run or a resume holds an exclusive `flock` on `<run dir>/.dlrun.lock`
(which records its pid) for as long as it writes there. A second process is refused in one line
naming the holder. The kernel releases a flock when its process dies, however it dies (SIGKILL, the
out-of-memory killer), so a lock left by a killed process is free: the next run takes it over and
says so (the file still names the dead pid). A clean end removes the file."""

import os
import sys
from pathlib import Path

from dlrun.errors import DlrunError

LOCK = ".dlrun.lock"
_held: dict[Path, int] = {}  # run folder -> the open, locked file descriptor


def _flock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # not on a POSIX system: no lock (the folder is still written atomically)
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError:  # a filesystem without flock (some network ones): no lock
        return True


def acquire(folder: str | os.PathLike, warn: bool = True) -> None:
    """Hold `folder`'s lock until `release(folder)` or the end of the process; DlrunError when
    another live process holds it. Holding it already (this process) is fine."""
    folder = Path(folder).resolve()
    if folder in _held:
        return
    path = folder / LOCK
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _flock(fd):
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DlrunError(
                f"{folder} is in use by process {holder} (a dlrun run or resume writing "
                f"there, see {LOCK}); wait for it to end or stop it"
            )
        try:  # its previous holder may have removed the file between our open and flock: retry
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    previous = os.read(fd, 64).decode(errors="replace").strip()
    if previous and previous != str(os.getpid()) and warn:
        print(
            f"dlrun: warning: {path} was left by process {previous}, which ended without releasing "
            "it (killed?); taking it over",
            file=sys.stderr,
        )
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _held[folder] = fd


def release(folder: str | os.PathLike) -> None:
    fd = _held.pop(Path(folder).resolve(), None)
    if fd is None:
        return
    try:
        os.unlink(Path(folder).resolve() / LOCK)  # while still locked: nobody holds a removed file
    except OSError:
        pass
    os.close(fd)


def holds(folder: str | os.PathLike) -> bool:
    return Path(folder).resolve() in _held
