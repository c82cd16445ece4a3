"""`make check-install`: installing the package into an environment that has its framework changes nothing there.

A reader with a working environment (a conda env, Colab's preinstalled torch) runs `pip install -e ".[torch]"`
from a clone. pip must then leave their NumPy and their torch alone: the package declares ranges, not pins.
This builds a fresh virtual environment holding NumPy 2 and torch at the current environment's versions,
installs the package with the torch extra, checks that neither moved, and trains two steps.

    python tools/check_install.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEPT = ("numpy", "torch")


def pins(path: Path, names: tuple[str, ...]) -> list[str]:
    """The ``name==version`` lines of ``names`` in a requirements file."""
    lines = [line.split(";")[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if re.match(rf"({'|'.join(names)})==", line)]


def installed(python: Path) -> dict[str, str]:
    """Every distribution in the environment of ``python``, by lower-case name."""
    freeze = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, check=True)
    return dict(line.lower().split("==", 1) for line in freeze.stdout.splitlines() if "==" in line)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="w2v-check-install-") as folder:
        python = Path(folder) / "venv" / "bin" / "python"
        subprocess.run([sys.executable, "-m", "venv", python.parent.parent], check=True)
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        first = pins(ROOT / "requirements-current.txt", KEPT)
        print(f"a reader's environment: {' '.join(first)}")
        subprocess.run([*pip, *first], check=True)
        before = installed(python)
        subprocess.run([*pip, "-e", f"{ROOT}[torch]"], check=True)
        after = installed(python)
        moved = [f"{name} {before[name]} -> {after.get(name)}" for name in KEPT if after.get(name) != before[name]]
        added = sorted(set(after) - set(before))
        print(f'pip install -e ".[torch]" added {len(added)} packages: {", ".join(added)}')
        training = subprocess.run(
            [python, "-m", "backends", "train", "--framework", "torch", "--max-steps", "2", "--no-progress",
             "--out", Path(folder) / "results"], cwd=folder, capture_output=True, text=True,
        )
        print(training.stdout.strip() or training.stderr.strip())
    if moved:
        print(f"FAILED: installing the package changed {'; '.join(moved)}")
    return 1 if moved or training.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
