"""`make wheel`: the package as one file to hand out, dist/w2v_companion-<version>-py3-none-any.whl, data inside.

It is built from a clean copy of the tree (only what git tracks, as a fresh clone holds), so nothing untracked
of this checkout travels in it. A notebook beside the wheel installs it with the command its first cell prints
where the package is missing: ``%pip install "w2v_companion-<version>-py3-none-any.whl[torch]"``. The site
build puts the same file beside the notebooks it offers (tools/make_site.py), and `make check-install`
installs it as a reader does.

    python tools/make_wheel.py [--out dist]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from backends.common.package import WHEEL  # noqa: E402


def clean_copy(folder: Path) -> Path:
    """The files git tracks, copied to ``folder`` (links kept as links): what a fresh clone holds."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in filter(None, tracked.stdout.split("\0")):
        source, target = ROOT / name, folder / name
        if source.exists() or source.is_symlink():  # a file deleted but not yet committed is not in the tree
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
    return folder


def _builds_here() -> bool:
    """Whether this Python can build the wheel itself: setuptools 61 or newer, with bdist_wheel (built into
    setuptools from 70.1, the ``wheel`` package before)."""
    try:
        version = tuple(int(part) for part in metadata.version("setuptools").split(".")[:2])
    except metadata.PackageNotFoundError:
        return False
    return version >= (70, 1) or (version >= (61, 0) and importlib.util.find_spec("wheel") is not None)


def build_wheel(source: Path, dist: Path) -> Path:
    """The wheel of the tree at ``source``, written to ``dist``: with this Python's setuptools where it can
    (nothing downloaded), else in pip's isolated build environment."""
    here = ["--no-build-isolation"] if _builds_here() else []
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            *here,
            str(source),
            "-w",
            str(dist),
        ],
        check=True,
        cwd=source,
    )
    wheel = dist / WHEEL
    if not wheel.is_file():
        raise SystemExit(
            f"pip wrote no {WHEEL} to {dist}: the version in backends/common/package.py and the "
            f"one pyproject.toml reads must be the same"
        )
    return wheel


def wheel_into(dist: Path) -> Path:
    """A fresh wheel of the tracked tree in ``dist`` (the file of the same name there replaced)."""
    dist.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="w2v-wheel-") as folder:
        built = build_wheel(clean_copy(Path(folder) / "tree"), Path(folder) / "dist")
        shutil.copy(built, dist / f".{built.name}.part")
        (dist / f".{built.name}.part").replace(dist / built.name)  # whole or not at all
    return dist / built.name


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="the folder for the wheel (default: dist)")
    wheel = wheel_into(parser.parse_args().out)
    print(f"wrote {wheel} ({wheel.stat().st_size / 1e6:.1f} MB)")
