"""`make check-install`: the package as readers install it, into an environment that already has its framework.

A reader with a working environment (a conda env, Colab's preinstalled torch) installs the package from a
wheel, an sdist or the repository's address, not as an editable clone. This builds the wheel and the sdist
from a clean copy of the tree (only what git tracks), checks that both carry the shipped data, then builds a
fresh virtual environment holding NumPy 2 and torch at the current environment's versions. In an empty folder
holding the torch notebook and the wheel, as a teacher hands them out, the notebook must stop in its first code
cell with the one line saying how to install the package; the `%pip install` command of that line is run there
as printed (the wheel with the torch extra, not editable), NumPy and torch must not move, and from that folder
two steps of the NumPy oracle and of torch train and the notebook executes (20 steps): the data must come from
the installed package.

    python tools/check_install.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from make_wheel import build_wheel, clean_copy  # noqa: E402

KEPT = ("numpy", "torch")
DATA = ("backends/data/ptb.zip", "backends/data/wordsim353.tsv")
NOTEBOOK = "notebooks/torch/word2vec-pretraining.ipynb"
NOTEBOOK_RUNNER = ("nbclient", "nbformat", "ipykernel")
# Run in the reader's environment, in the folder holding the notebook alone: execute it, and fail on an error
# or anything on stderr in any cell. With "absent" (the package not installed yet), the first code cell must
# stop the run with the one-line install message instead, and no later cell may have run.
EXECUTE = """
import sys, time, nbclient, nbformat
started = time.perf_counter()
absent = sys.argv[2:] == ["absent"]
notebook = nbformat.read(sys.argv[1], as_version=4)
for cell in notebook.cells:  # the committed outputs cleared: what is judged below comes from this run alone
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": "."}})
try:
    client.execute()
except nbclient.exceptions.CellExecutionError:  # as Jupyter's Run All, it stops at the first failing cell
    if not absent:
        raise
code = [c for c in notebook.cells if c.cell_type == "code"]
if absent:
    shown = [line for o in code[0].outputs for line in o.get("text", "").splitlines()]
    later = [c for c in code[1:] if c.outputs or c.execution_count]
    print(f"the package absent, the first code cell shows {len(shown)} line(s): {' | '.join(shown)}; "
          f"{len(later)} later cells ran")
    expected = "UsageError: no w2v-companion package in this kernel. Put the wheel "
    sys.exit(0 if len(shown) == 1 and shown[0].startswith(expected) and not later else 1)
bad = [o for c in code for o in c.outputs if o.output_type == "error" or o.get("name") == "stderr"]
print(f"executed {sys.argv[1]} alone in an empty folder: {len(notebook.cells)} cells, "
      f"{len(bad)} with errors or stderr, {time.perf_counter() - started:.0f} s")
sys.exit(1 if bad else 0)
"""


def pins(path: Path, names: tuple[str, ...]) -> list[str]:
    """The ``name==version`` lines of ``names`` in a requirements file."""
    lines = [line.split(";")[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if re.match(rf"({'|'.join(names)})==", line)]


def installed(python: Path) -> dict[str, str]:
    """Every distribution in the environment of ``python``, by lower-case name."""
    freeze = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, check=True
    )
    return dict(line.lower().split("==", 1) for line in freeze.stdout.splitlines() if "==" in line)


def build(source: Path, dist: Path) -> tuple[Path, Path]:
    """The wheel (as `make wheel` builds it) and the sdist (setuptools) of the tree at ``source``."""
    wheel = build_wheel(source, dist)
    subprocess.run(
        [sys.executable, "-c", f"from setuptools import build_meta; build_meta.build_sdist({str(dist)!r})"],
        cwd=source,
        check=True,
        capture_output=True,
    )
    return wheel, next(dist.glob("*.tar.gz"))


def missing_data(wheel: Path, sdist: Path) -> list[str]:
    """The shipped data files that the wheel or the sdist lacks."""
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
    with tarfile.open(sdist) as archive:
        in_sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    return [
        f"{name} in the {kind}"
        for kind, names in (("wheel", in_wheel), ("sdist", in_sdist))
        for name in DATA
        if name not in names
    ]


def notebook(python: Path, folder: Path, *mode: str) -> tuple[bool, str]:
    """Whether the notebook copied into ``folder`` runs as it should with ``python``'s kernel (see EXECUTE), and
    what it printed."""
    executed = subprocess.run(
        [python, "-c", EXECUTE, Path(NOTEBOOK).name, *mode],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "W2V_MAX_STEPS": "20"},
    )
    said = executed.stdout.strip() or executed.stderr.strip()[-2000:]
    print(said)
    return executed.returncode == 0, said


def main() -> int:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="w2v-check-install-") as folder:
        folder = Path(folder)
        wheel, sdist = build(clean_copy(folder / "tree"), folder / "dist")
        print(
            f"built {wheel.name} ({wheel.stat().st_size / 1e6:.1f} MB) and {sdist.name} "
            f"({sdist.stat().st_size / 1e6:.1f} MB)"
        )
        lacking = missing_data(wheel, sdist)
        python = folder / "venv" / "bin" / "python"
        subprocess.run([sys.executable, "-m", "venv", python.parent.parent], check=True)
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        first = pins(ROOT / "requirements-current.txt", KEPT)
        print(f"a reader's environment: {' '.join(first)}")
        subprocess.run([*pip, *first], check=True)
        subprocess.run([*pip, *pins(ROOT / "requirements-current.txt", NOTEBOOK_RUNNER)], check=True)
        elsewhere = folder / "elsewhere"  # an empty folder: nothing of the clone is reachable from it
        elsewhere.mkdir()
        shutil.copy(ROOT / NOTEBOOK, elsewhere)  # the notebook and the wheel, as a teacher hands them out
        shutil.copy(wheel, elsewhere)
        stopped, said = notebook(python, elsewhere, "absent")
        failed = [] if stopped else [f"{NOTEBOOK}'s message without the package"]
        printed = re.search(r'%pip install "([^"]+)"', said)
        before = installed(python)
        if printed is None:
            failed.append("the install command in the notebook's message")
        else:  # the command exactly as the notebook prints it, run where the notebook runs
            subprocess.run([*pip, printed.group(1)], check=True, cwd=elsewhere)
        after = installed(python)
        moved = [f"{name} {before[name]} -> {after.get(name)}" for name in KEPT if after.get(name) != before[name]]
        added = sorted(set(after) - set(before))
        print(
            f'pip install "{printed.group(1) if printed else "(none)"}" added {len(added)} packages: {", ".join(added)}'
        )
        for name in ("numpy", "torch"):
            training = subprocess.run(
                [python, "-m", "backends", "train", "--framework", name, "--max-steps", "2", "--no-progress"],
                cwd=elsewhere,
                capture_output=True,
                text=True,
            )
            print(training.stdout.strip() or training.stderr.strip())
            if training.returncode or not (elsewhere / "results" / name / "history.json").is_file():
                failed.append(f"training {name}")
        if not notebook(python, elsewhere)[0]:
            failed.append(f"the notebook {NOTEBOOK}")
    for problem in (
        f"installing the package changed {'; '.join(moved)}" if moved else "",
        f"missing: {', '.join(lacking)}" if lacking else "",
        f"from an empty folder: {', '.join(failed)}" if failed else "",
    ):
        if problem:
            print(f"FAILED: {problem}")
    print(f"check-install took {time.perf_counter() - started:.0f} s")
    return 1 if moved or lacking or failed else 0


if __name__ == "__main__":
    sys.exit(main())
