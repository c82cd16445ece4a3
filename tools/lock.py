"""`make lock`: compile an environment's chosen pins (a .in file) into its lock of exact pins (a .txt file).

- current: requirements-current.in → requirements-current.txt, for Python 3.11-3.13. uv resolves one set of
  versions for every Python from 3.11 up and every platform, with markers where a platform needs its own
  packages (``--universal``), preferring one version of each package for all Pythons (``--fork-strategy
  fewest``), so Python 3.11 in CI tests what Python 3.13 installs.
- book: requirements.in → requirements.txt, for Python 3.11 on Linux x86-64 only. The old pins (numpy 1.23.5,
  mxnet 1.9.1, d2l 1.0.3) are installed with pip into a throwaway venv, `pip check` must pass, and the lock
  is what pip then holds, dependencies included: exactly the set the tests ran against.

torch's CUDA libraries are left out of both: PyPI's torch pins them itself, and the CPU wheel these machines
use (a local build, version 2.13.0+cpu, written as 2.13.0) needs none of them.

    python tools/lock.py current|book    (the current one needs uv beside this Python: the `make lock` venv)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = {
    "current": ("requirements-current.in", "requirements-current.txt"),
    "book": ("requirements.in", "requirements.txt"),
}
TORCH_CUDA = re.compile(r"^(nvidia-|cuda-|triton==)")
HEADERS = {
    "current": [
        "# The current environment: exact pins for Python 3.11 to 3.13, compiled from requirements-current.in by",
        "# `make lock` (uv pip compile --universal). torch's CUDA libraries are not listed: PyPI's torch pins them.",
    ],
    "book": [
        "# The book environment: exact pins for Python 3.11 on Linux x86-64, every package pip installs for",
        "# requirements.in, written by `make lock PROFILE=book`. torch's CUDA libraries are not listed: PyPI's torch",
        "# pins them.",
    ],
}


def compile_current(source: Path) -> list[str]:
    return subprocess.run(
        [
            Path(sys.executable).parent / "uv",
            "pip",
            "compile",
            "--universal",
            "--fork-strategy",
            "fewest",
            "--python-version",
            "3.11",
            "--no-annotate",
            "--no-header",
            "--upgrade",
            str(source),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()


def compile_book(source: Path) -> list[str]:
    if sys.version_info[:2] != (3, 11):
        raise SystemExit(f"the book lock is made with Python 3.11 (run with python3.11), not {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as folder:
        venv.create(folder, with_pip=True)
        pip = [str(Path(folder) / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
        subprocess.run([*pip, "install", "--quiet", "-r", str(source)], check=True)
        subprocess.run([*pip, "check"], check=True)
        frozen = subprocess.run(
            [*pip, "freeze", "--all", "--exclude", "pip", "--exclude", "setuptools"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    return sorted((re.sub(r"\+cpu$", "", line) for line in frozen), key=str.lower)


def main(profile: str) -> None:
    source, lock = (ROOT / name for name in FILES[profile])
    compiled = compile_current(source) if profile == "current" else compile_book(source)
    kept = [line for line in compiled if not TORCH_CUDA.match(line)]
    lock.write_text("\n".join(HEADERS[profile] + kept) + "\n")
    pins, cuda = sum("==" in line for line in kept), len(compiled) - len(kept)
    print(f"wrote {lock.name}: {pins} pins ({cuda} CUDA lines left out)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "current")
