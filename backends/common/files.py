"""Files in and out: atomic writes, output folders proved writable before any work, input files checked.

Everything the project writes (histories, embeddings, figures, summaries) goes through here: the
bytes go to a temporary file in the same folder, which is then renamed over the target in one step, so a
file is either the old one or the complete new one, never half written. A command checks its output
folder first (:func:`writable_folder`), so that a typo in ``--out`` costs nothing instead of a run's
work, and an input file that cannot be used is described as it is: missing, a folder, a device, empty.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from backends.common.errors import W2VError, WriteError

# The first bytes of compressed files and archives, with what they are and the tool that unpacks them.
COMPRESSED = {
    b"\x1f\x8b": ("gzip-compressed", "gunzip"),
    b"BZh": ("bzip2-compressed", "bunzip2"),
    b"\xfd7zXZ\x00": ("xz-compressed", "unxz"),
    b"(\xb5/\xfd": ("zstd-compressed", "unzstd"),
    b"7z\xbc\xaf\x27\x1c": ("a 7-Zip archive", "7z x"),
}


def refuse_compressed(start: bytes, where: str, wanted: str, then: str) -> None:
    """An error where a file beginning with ``start`` is compressed or an archive (:data:`COMPRESSED`): ``where``
    is that, not ``wanted``; it names the tool that unpacks it, and ``then`` what to do with what it unpacks."""
    for magic, (kind, tool) in COMPRESSED.items():
        if start.startswith(magic):
            raise W2VError(f"{where} is {kind}, not {wanted}. Unpack it first (with {tool}) and {then}")


RANDOM_CHARACTERS = 12  # of a temporary file's name: 48 random bits, never another's


def _default_mode() -> int:
    """The permissions a plain ``open(path, "w")`` would give a new file: 0o666 less the process's umask."""
    umask = os.umask(0o022)  # reading the umask means setting it; it is put back at once
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside ``path``; on success it replaces ``path``, on error it vanishes."""
    path = Path(path)
    # Named before it exists (not by mkstemp, which returns the name only once the file is made), so that the
    # finally below removes it wherever a Ctrl-C lands; a random name, created exclusively, is never another's.
    temporary = temporary_for(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        yield temporary
        os.chmod(temporary, _default_mode())  # made private, as mkstemp does; results are meant to be shared
        os.replace(temporary, path)
    except OSError as exc:  # the disk filled up while writing, say
        raise WriteError(os_error_message(exc, path)) from None
    finally:
        with contextlib.suppress(OSError):  # a file system made read-only meanwhile: the error above is the news
            temporary.unlink(missing_ok=True)


def temporary_for(path: Path) -> Path:
    """The temporary file an atomic write of ``path`` goes through: hidden, beside it, with a random part of
    ``RANDOM_CHARACTERS`` characters (a run's longest path is probed with that length, backends.experiments.runs)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:RANDOM_CHARACTERS]}.tmp")


def writable_folder(folder: str | Path) -> Path:
    """Create ``folder`` if needed and prove it writable with a real temporary file, removed again."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".w2v-probe-") as probe:
            probe.write(b"w2v")
            probe.flush()
    except OSError as exc:
        clash = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        why = f"{clash} is a file, not a folder" if clash else exc.strerror or str(exc)
        raise W2VError(
            f"cannot write to the output folder {folder} ({why}); choose a writable folder (--out DIR). "
            f"Nothing was trained or written."
        ) from None
    return folder


def readable_file(path: str | Path, what: str, remedy: str) -> Path:
    """``path`` if it is a regular file with something in it; else an error saying what it is instead.

    ``what`` names the file for the user ("the embeddings file"), ``remedy`` is a sentence saying what to do.
    """
    path = Path(path)
    if _symlink_loop(path):
        problem = SYMLINK_LOOP
    elif not path.exists():
        problem = "does not exist"
    elif path.is_dir():
        problem = "is a folder, not a file"
    elif not path.is_file():
        problem = "is not a regular file (it is a device, a pipe or a socket)"
    elif not os.access(path, os.R_OK):
        problem = "cannot be read (permission denied)"
    elif path.stat().st_size == 0:
        problem = "is empty"
    else:
        return path
    raise W2VError(f"{what} {path} {problem}. {remedy}")


def existing_folder(path: str | Path, what: str, remedy: str) -> Path:
    """``path`` if it is a folder; else an error saying what it is instead (missing, a file, a loop of links)."""
    path = Path(path)
    if path.is_dir():
        return path
    problem = SYMLINK_LOOP if _symlink_loop(path) else "is a file, not a folder" if path.exists() else "does not exist"
    raise W2VError(f"{what} {path} {problem}. {remedy}")


SYMLINK_LOOP = (
    "is a loop of symbolic links (following them leads back round to a link, never to a file); point the "
    "link at the real file, or give that file's path instead"
)


def _symlink_loop(path: Path) -> bool:
    """Whether following ``path``'s symbolic links goes round in a loop: ``exists()`` says False then, which
    would tell the user a link they can see does not exist."""
    try:
        path.stat()
    except OSError as error:
        return error.errno == errno.ELOOP
    return False


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as temporary:  # a path that is not UTF-8 (in a summary, say) is written escaped
        temporary.write_text(text, encoding="utf-8", errors="backslashreplace")
    return Path(path)


def write_json(path: str | Path, record: dict) -> dict:
    """Write ``record`` as indented JSON, atomically (NaN and infinities become null, as JSON has neither);
    returns it."""
    write_text(path, to_json(record, indent=1) + "\n")
    return record


def to_json(record: dict, indent: int | None = None) -> str:
    """``record`` as strict JSON: NaN and infinities become null (Python's json would write NaN and Infinity)."""
    return json.dumps(_no_nan(record), indent=indent, allow_nan=False)


def _no_nan(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    return value


_OS_ERRORS = {  # errno: (what happened to the file, what to do)
    errno.ENOSPC: ("the disk is full", "free some space, or write somewhere else (--out DIR)"),
    errno.EDQUOT: ("the disk quota is used up", "free some space, or write somewhere else (--out DIR)"),
    errno.ENAMETOOLONG: ("its name is too long for the file system", "choose a shorter name (--out DIR)"),
    errno.EACCES: ("permission was denied", "choose a folder you may write to (--out DIR), or change its permissions"),
    errno.EPERM: ("the operation is not permitted", "choose a folder you may write to (--out DIR)"),
    errno.EROFS: ("the file system is read-only", "choose a writable folder (--out DIR)"),
    errno.ENOTDIR: (
        "a part of its path is a file, not a folder",
        "choose another folder (--out DIR), or move that file away",
    ),
    errno.EISDIR: ("it is a folder, not a file", "give a file, or move the folder away"),
}


def os_error_message(error: OSError, path: str | Path | None = None) -> str:
    """An operating system's error while reading or writing (disk full, read-only, ...) as one paragraph that
    names the file (``path``, else the error's), the reason in words and the fix."""
    path = path or error.filename or "a file"
    what, fix = _OS_ERRORS.get(error.errno or 0, (error.strerror or str(error), "check the path and try again"))
    return (
        f"cannot use {path}: {what} ({error.strerror or error}). {fix[0].upper()}{fix[1:]}. Results "
        f"written before are unchanged."
    )
