"""`make lock`: compile requirements-current.in into requirements-current.txt, exact pins for Python 3.11-3.13.

uv resolves one set of versions for every Python from 3.11 up and every platform, with markers where a
platform needs its own packages (``--universal``), preferring one version of each package for all Pythons
(``--fork-strategy fewest``), so Python 3.11 in CI tests what Python 3.13 installs. torch's CUDA libraries
are left out: PyPI's torch pins them itself, and the CPU wheel these machines use needs none of them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE, LOCK = ROOT / "requirements-current.in", ROOT / "requirements-current.txt"
TORCH_CUDA = re.compile(r"^(nvidia-|cuda-|triton==)")


def main() -> None:
    compiled = subprocess.run(
        [Path(sys.executable).parent / "uv", "pip", "compile", "--universal", "--fork-strategy", "fewest",
         "--python-version", "3.11", "--no-annotate", "--no-header", "--upgrade", str(SOURCE)],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    kept = [line for line in compiled if not TORCH_CUDA.match(line)]
    header = [
        "# The current environment: exact pins for Python 3.11 to 3.13, compiled from requirements-current.in by",
        "# `make lock` (uv pip compile --universal). torch's CUDA libraries are not listed: PyPI's torch pins them.",
    ]
    LOCK.write_text("\n".join(header + kept) + "\n")
    print(f"wrote {LOCK.name}: {sum('==' in line for line in kept)} pins ({len(compiled) - len(kept)} CUDA lines left out)")


if __name__ == "__main__":
    main()
