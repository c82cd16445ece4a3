"""`make wheel-check`: which (environment, Python, platform) cells of the README's support table can install.

Installing needs a machine of each kind; whether every pinned package has a wheel for it does not. uv resolves
each lock file's exact pins for each Python (from its first release, 3.x.0) and platform with wheels only (no
source builds but for pure-Python packages that publish none, no dependencies beyond the pins) and names the
first package that has no wheel there. macOS is checked as macOS 14 on Apple silicon and on Intel, the oldest
macOS that PyPI's torch 2.13 wheel accepts.

    python tools/wheel_check.py        (run by `make wheel-check` with uv from the `make lock` venv)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"book": "requirements.txt", "current": "requirements-current.txt"}
PYTHONS = ("3.11", "3.12", "3.13")
PLATFORMS = {
    "Linux x86-64": "x86_64-unknown-linux-gnu",
    "Linux arm64": "aarch64-unknown-linux-gnu",
    "macOS arm64": "aarch64-apple-darwin",
    "macOS x86-64": "x86_64-apple-darwin",
    "Windows x86-64": "x86_64-pc-windows-msvc",
}
MISSING = re.compile(r"Because (\S+) has no (?:usable )?wheels")
# Pure-Python packages that publish no wheel at all: pip builds them anywhere, so their source is allowed.
SOURCE_ONLY = ("promise",)  # via tensorflow-datasets, in the book environment


def check(lock: str, python: str, platform: str) -> str:
    """ "ok", or the first pinned package without a wheel for ``python`` on ``platform``."""
    done = subprocess.run(
        [
            Path(sys.executable).parent / "uv",
            "pip",
            "compile",
            "--quiet",
            "--no-header",
            "--no-deps",
            "--only-binary",
            ":all:",
            *(f"--no-binary={name}" for name in SOURCE_ONLY),
            "--python-version",
            python,
            "--python-platform",
            platform,
            "-o",
            os.devnull,
            str(ROOT / lock),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "MACOSX_DEPLOYMENT_TARGET": "14.0"},
    )
    if done.returncode == 0:
        return "ok"
    found = MISSING.search(done.stderr)
    return f"no wheel of {found.group(1)}" if found else done.stderr.strip().splitlines()[-1]


def main() -> int:
    print("Every pin has a wheel for (uv pip compile --only-binary :all:, against PyPI):")
    for profile, lock in LOCKS.items():
        for name, platform in PLATFORMS.items():
            cells = [f"{python} {check(lock, python, platform)}" for python in PYTHONS]
            print(f"  {profile:8} {name:15} " + " | ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
