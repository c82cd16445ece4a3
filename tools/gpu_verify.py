"""`make gpu-verify`: the GPU path proved in one command, the moment a machine with a GPU is at hand.

    python3 tools/gpu_verify.py [--device gpu|cpu] [--out DIR] [--frameworks torch,jax]
                                [--steps N] [--timing-steps N] [--notebook-steps N]

Such a machine is lent for minutes with its frameworks preinstalled and no network, so nothing is built or
installed: the Python this runs under needs NumPy, SciPy, Matplotlib, tqdm, filelock and a framework, and the
package is taken from this working tree. For each framework there that sees a GPU, backends/experiments/verify.py trains
it on the GPU and on the CPU from one seed, compares the per-step losses and times both; then the framework's
chapter notebook runs on the GPU where Jupyter is installed. verify.json and verify.md are written into DIR
(default results/gpu-verify) after every stage, each whole or not at all, so a run cut short leaves what it
measured; the verify.md of a real run is what docs/gpu.md records.

--device cpu runs the same steps with the CPU standing in for the GPU, with fewer steps: the test suite runs it.
Exit codes: 0 passed, 1 something failed or disagreed, 2 nothing to check (no GPU seen) or a bad option, 130
interrupted.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this working tree's package, installed or not; its processes and kernel get it too
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))

from backends.cli.main import Parser  # noqa: E402
from backends.common.errors import W2VError  # noqa: E402
from backends.common.files import atomic_path, writable_folder, write_json, write_text  # noqa: E402
from backends.display.notebook import BUDGET  # noqa: E402
from backends.experiments import verify  # noqa: E402

# Steps compared, steps timed (None: the chapter's 5 epochs) and the notebook's budget (None: in full), by device.
SIZES = {"gpu": (200, None, None), "cpu": (20, 100, 20)}
CHAPTER = "word2vec-pretraining"
TRAINED = re.compile(r"^([\d,]+ steps on (.+?), .*)$", re.MULTILINE)  # the line the chapter's training cell prints
# Cells that need an optional package, by what marks them and what they show: left out where it is missing.
OPTIONAL = {"adjustText": ("plot_words(", "the word map, which needs adjustText (not installed)")}
JUPYTER = ("nbformat", "nbclient", "ipykernel")
KERNEL = "w2v-gpu-verify"


def run_notebook(framework: str | None, device: str, max_steps: int | None, out: Path) -> dict:
    """Execute ``framework``'s chapter notebook in a fresh kernel, from a scratch folder; what came of it. The
    executed notebook is kept in ``out``."""
    missing = [module for module in JUPYTER if importlib.util.find_spec(module) is None]
    if framework is None or missing:
        why = f"Jupyter is not installed here ({', '.join(missing)} missing)" if missing else "no framework trained"
        return {"status": "skipped", "reason": why}
    import nbformat
    from nbclient import NotebookClient

    path = Path("notebooks") / framework / f"{CHAPTER}.ipynb"
    notebook = nbformat.read(ROOT / path, as_version=4)
    left_out = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None  # the committed run's outputs must not pass for this one's
        for module, (mark, what) in OPTIONAL.items():
            if mark in cell.source and importlib.util.find_spec(module) is None:
                notebook.cells[index] = nbformat.v4.new_markdown_cell(f"*Left out by the GPU check: {what}.*")
                left_out.append(what)
    result = {"path": str(path), "max_steps": max_steps, "left_out": "; ".join(left_out)}
    start = time.perf_counter()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="w2v-notebook-") as folder,
            environment({BUDGET: str(max_steps) if max_steps else None, "JUPYTER_PATH": kernel(Path(folder))}),
        ):
            NotebookClient(
                notebook, kernel_name=KERNEL, timeout=600, resources={"metadata": {"path": folder}}
            ).execute()
    except Exception as error:  # noqa: BLE001 - a cell's error, a dead kernel, a timeout: the notebook failed
        said = f"{error.ename}: {error.evalue}" if hasattr(error, "ename") else f"{type(error).__name__}: {error}"
        return {**result, "status": "failed", "seconds": time.perf_counter() - start, "error": said.strip()}
    finally:
        with atomic_path(out / f"{framework}-{CHAPTER}.ipynb") as temporary:
            nbformat.write(notebook, temporary)
    result["seconds"] = time.perf_counter() - start
    printed = [
        TRAINED.search(output.get("text", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "stream"
    ]
    trained = next((match for match in printed if match), None)
    if trained is None:
        return {**result, "status": "failed", "error": "the training cell printed no line saying where it trained"}
    result.update(trained=trained.group(1), device=trained.group(2))
    if device == "gpu" and not trained.group(2).startswith("gpu"):  # the notebook takes a GPU wherever it sees one
        return {**result, "status": "failed", "error": f"it trained on {trained.group(2)}, not on the GPU"}
    return {**result, "status": "ran"}


def kernel(folder: Path) -> str:
    """A kernel spec for this very Python in ``folder``: the JUPYTER_PATH under which the notebook runs with the
    interpreter the check was given, not whichever one a "python3" kernel found elsewhere names."""
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": KERNEL,
                "language": "python",
            }
        )
    )
    return os.pathsep.join(filter(None, (str(folder), os.environ.get("JUPYTER_PATH"))))


@contextlib.contextmanager
def environment(values: dict[str, str | None]) -> Iterator[None]:
    """Environment variables set (or, None, unset) for the block, then put back as they were."""

    def put(settings: dict[str, str | None]) -> None:
        for name, value in settings.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    before = {name: os.environ.get(name) for name in values}
    put(values)
    try:
        yield
    finally:
        put(before)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="tools/gpu_verify.py", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="gpu", help="gpu (the default), or cpu to stand in for it")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "results" / "gpu-verify",
        help="where verify.json and verify.md go (default: results/gpu-verify)",
    )
    parser.add_argument(
        "--frameworks",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        help="comma-separated (default: every one with a chapter; those not installed are reported)",
    )
    parser.add_argument("--steps", type=int, help="per-step losses compared (default: gpu 200, cpu 20)")
    parser.add_argument(
        "--timing-steps",
        type=int,
        help="steps each run trains and is timed over (default: gpu the chapter's 5 epochs, cpu 100)",
    )
    parser.add_argument("--notebook-steps", type=int, help="the notebook's step budget (default: gpu none, cpu 20)")
    try:
        args = parser.parse_args(argv)
        if args.device not in SIZES:
            raise W2VError(f"unknown device {args.device!r}; choose gpu, or cpu to stand in for it.")
        compared, timed, notebook_steps = SIZES[args.device]
        out = writable_folder(args.out)

        def save(record: dict) -> None:
            write_json(out / "verify.json", record)
            write_text(out / "verify.md", verify.markdown(record))

        record = verify.verify(
            args.device,
            args.frameworks,
            args.steps or compared,
            args.timing_steps or timed,
            say=lambda line: print(line, file=sys.stderr, flush=True),
            saved=save,
        )
        start = time.perf_counter()
        ran = next((name for name, found in record["frameworks"].items() if found["status"] == "ok"), None)
        print(f"running the {ran} chapter notebook ...", file=sys.stderr, flush=True)
        record["notebook"] = run_notebook(ran, args.device, args.notebook_steps or notebook_steps, out)
        record["seconds"] += time.perf_counter() - start
        save(verify.judge(record))
    except W2VError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; verify.json and verify.md hold what was measured before.", file=sys.stderr)
        return 130
    print(verify.markdown(record), end="")
    print(f"\nwrote {out / 'verify.json'} and verify.md")
    return 0 if record["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
