"""Writing files and folders atomically: the one place leadsim puts anything on disk.

:func:`write_atomic` writes a file's content (text, bytes, or whatever a
callback writes, such as ``DataFrame.to_parquet``) into a new temporary file in
the target's folder, flushes it to disk, and renames it over the target in one
step, so a reader sees the old file or the new one, never half of one.  The
temporary file is created the way :func:`open` creates a file (mode ``0o666``
less the umask), so every file leadsim writes gets the same, ordinary
permissions.  An existing file is only replaced with ``overwrite=True``, and a
failure anywhere (a full disk, an exception in the callback, Ctrl-C) removes
the temporary file and leaves the old file as it was.

:func:`write_folder_atomic` does the same for a whole folder (a report): it is
filled under a temporary name and renamed into place.

>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_atomic(folder / "note.txt", "first\\n").read_text()
'first\\n'
>>> write_atomic(folder / "note.txt", "second\\n")
Traceback (most recent call last):
...
leadsim.errors.InputFileError: .../note.txt: exists already; leadsim does not write over files (choose another name)
>>> write_atomic(folder / "note.txt", "second\\n", overwrite=True).read_text()
'second\\n'
>>> sorted(p.name for p in folder.iterdir())      # no temporary file left behind
['note.txt']
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from leadsim.errors import InputFileError

__all__ = ["check_target", "current_umask", "write_atomic", "write_folder_atomic"]

#: What a file's content may be: text (written as ``encoding``), bytes, or a
#: callback that writes the file at the path it is given.
Content = str | bytes | Callable[[Path], object]

_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation on the raw descriptor


def _temp_name(folder: Path, name: str, suffix: str) -> Path:
    """A hidden name beside ``name`` in ``folder`` that nothing uses yet (probably; creation checks)."""
    return folder / f".{name}.{secrets.token_hex(4)}.tmp{suffix}"


def _new_temp_file(folder: Path, name: str, suffix: str) -> tuple[int, Path]:
    """Create a fresh temporary file like ``open(path, "x")`` would: mode 0o666 less the umask."""
    for _ in range(100):
        tmp = _temp_name(folder, name, suffix)
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name for {name!r} in {folder}")  # pragma: no cover


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk where the system allows it (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_target(path: str | os.PathLike[str], *, overwrite: bool = False, parents: bool = False,
                 folder: bool = False) -> Path:
    """Refuse a target :func:`write_atomic` (``folder=True``: :func:`write_folder_atomic`) would refuse; return it as a Path.

    For checking before the work that makes the content.  A file target that
    is a folder, a folder target that is a file, and an existing target
    without ``overwrite`` raise :class:`~leadsim.errors.InputFileError`; a
    missing parent is created with ``parents=True``, otherwise refused.

    >>> import tempfile
    >>> check_target(tempfile.gettempdir())
    Traceback (most recent call last):
    ...
    leadsim.errors.InputFileError: ...: is a directory; give a file name
    """
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise InputFileError("exists and is not a folder; choose another output folder", where=str(path))
    if not folder and path.is_dir():
        raise InputFileError("is a directory; give a file name", where=str(path))
    if path.exists() and not overwrite:
        raise InputFileError("exists already; leadsim does not write over files (choose another name)",
                             where=str(path))
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        raise InputFileError(f"the folder {path.parent} does not exist", where=str(path))
    return path


def write_atomic(path: str | os.PathLike[str], content: Content, *, overwrite: bool = False,
                 parents: bool = False, encoding: str = "utf-8") -> Path:
    """Write ``content`` to ``path`` through a temporary file in the same folder and one rename; return the path.

    ``content`` is text (encoded with ``encoding``, newlines as given), bytes,
    or a callback ``write(tmp_path)`` that writes the file itself (the
    temporary name ends in ``path``'s suffix, so writers that choose a format
    by extension work).  The file is fsynced before the rename and gets the
    mode a plain ``open()`` gives a new file (``0o666`` less the umask).

    An existing ``path`` raises :class:`~leadsim.errors.InputFileError` unless
    ``overwrite=True`` (checked just before writing); a folder at ``path``
    always does.  A missing parent folder is created with ``parents=True``,
    otherwise refused.  On any error the temporary file is removed and an old
    file at ``path`` is left untouched.

    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sub" / "t.csv"
    >>> write_atomic(p, lambda tmp: tmp.write_text("a,b\\n1,2\\n"), parents=True).read_text()
    'a,b\\n1,2\\n'
    >>> oct(p.stat().st_mode & 0o777) == oct(0o666 & ~current_umask())
    True
    """
    path = check_target(path, overwrite=overwrite, parents=parents)
    fd, tmp = _new_temp_file(path.parent, path.name, path.suffix)
    try:
        if callable(content):
            os.close(fd)
            fd = -1
            content(tmp)
            fd = os.open(tmp, os.O_RDWR | _BINARY)  # fsync needs a descriptor that may write on some systems
            os.fsync(fd)
        else:
            data = content.encode(encoding) if isinstance(content, str) else bytes(content)
            with os.fdopen(fd, "wb", closefd=True) as fh:
                fd = -1
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        if fd >= 0:
            os.close(fd)
            fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    return path


def write_folder_atomic(path: str | os.PathLike[str], fill: Callable[[Path], object], *,
                        overwrite: bool = False) -> Path:
    """Build a folder under a temporary name with ``fill(tmp_folder)``, then rename it to ``path``; return ``path``.

    The temporary folder is made beside ``path`` (parents created) with the
    mode a plain ``mkdir`` gives.  An existing folder at ``path`` raises
    :class:`~leadsim.errors.InputFileError` unless ``overwrite=True``; then it
    is moved aside, the new one renamed into place, and the old one deleted
    (put back if the rename fails).  On any error the temporary folder is
    removed.  Write the files inside with :func:`write_atomic`.

    >>> import pathlib, tempfile
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "report"
    >>> _ = write_folder_atomic(out, lambda tmp: write_atomic(tmp / "index.html", "<p>hi</p>"))
    >>> sorted(p.name for p in out.iterdir())
    ['index.html']
    """
    path = check_target(path, overwrite=overwrite, parents=True, folder=True)
    for _ in range(100):
        tmp = _temp_name(path.parent, path.name, "")
        try:
            os.mkdir(tmp, 0o777)  # the umask applies, as for any new folder
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover
        raise FileExistsError(f"no free temporary name for {path.name!r} in {path.parent}")
    try:
        fill(tmp)
        if path.exists():
            old = _temp_name(path.parent, path.name, ".old")
            os.replace(path, old)
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _sync_folder(path.parent)
    return path


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux), else set and restored.

    >>> 0 <= current_umask() <= 0o777
    True
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
