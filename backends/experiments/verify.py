"""The GPU path checked in one run (``tools/gpu_verify.py``, ``make gpu-verify``).

A GPU machine is lent for minutes, with its frameworks preinstalled and no network, so the check needs only
what a training run needs (no TensorFlow, MXNet, gensim or adjustText), and proves that a framework sees a GPU
before it trains anything. Every framework is probed, and trains, in a process of its own (as ``compare`` and
``parity`` do): one that fails to import or to train is reported with its error while the others go on.

What it compares: each framework's first ``compared_steps`` per-step losses on the GPU against the same
framework on the CPU, against every other framework on the GPU and against the NumPy oracle, within the
relative tolerance ``parity`` holds them to on the CPU. What it times: the same runs (the chapter's 5 epochs
unless told fewer steps), centers per second after the first step, on the GPU and on that machine's CPU, and
against the figure the book prints for this section on its GPU.

With ``device="cpu"`` the CPU stands in for the GPU and every step runs the same way: that is how the test
suite keeps this path from rotting between GPU machines.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import backends
from backends import load_backend
from backends.common.book import BOOK_CENTERS_PER_SEC, BOOK_EPOCHS, BOOK_PRINTED
from backends.common.errors import W2VError
from backends.common.files import to_json
from backends.common.frameworks import CHAPTER_FRAMEWORKS, REGISTRY
from backends.common.settings import Settings
from backends.experiments.agreement import PARITY_TOLERANCE, max_relative_differences, relative_differences
from backends.experiments.isolated import NOT_INSTALLED, check_frameworks, run_json, train_each
from backends.training.history import package_versions

REFERENCE = "numpy"  # the oracle, trained on the CPU: no framework, always there
NO_GPU = "sees no GPU"
# The versions printed first: the frameworks, NumPy, and what the notebook part needs.
LIBRARIES = (
    *dict.fromkeys(module for entry in REGISTRY.values() for module in entry.modules),
    "jaxlib",
    "matplotlib",
    "nbclient",
    "ipykernel",
    "adjustText",
)
RUN_FIGURES = ("device", "steps", "loss", "centers_per_sec", "cores_busy", "seconds", "wall_seconds")
# Settings from the environment that change what a GPU computes or which one is used: recorded where set.
ENVIRONMENT = (
    "CUDA_VISIBLE_DEVICES",
    "NVIDIA_TF32_OVERRIDE",
    "JAX_DEFAULT_MATMUL_PRECISION",
    "JAX_PLATFORMS",
    "XLA_FLAGS",
    "PYTORCH_ENABLE_MPS_FALLBACK",
)


def probe(name: str, request: str) -> dict:
    """In this process: import ``name``'s backend and resolve ``request`` as a run of it would; what it found."""
    try:
        backend = load_backend(name)
    except W2VError as error:
        return {"status": "failed", "error": str(error)}
    try:
        return {"status": "ok", "device": backend.describe_device(backend.resolve_device(request))}
    except W2VError as error:
        return {"status": NO_GPU, "error": str(error)}


def probe_isolated(name: str, request: str) -> dict:
    """:func:`probe` in a fresh process; a crash there is reported as the framework's failure."""
    if not REGISTRY[name].installed:
        return {"status": NOT_INSTALLED, "error": REGISTRY[name].how_to_install()}
    found = run_json([sys.executable, "-m", "backends.experiments.verify", "probe", name, request])
    return {"status": "failed", **found} if "status" not in found else found


def verify(
    device: str,
    frameworks: Sequence[str] | None = None,
    compared_steps: int = 200,
    timing_steps: int | None = None,
    seed: int = 0,
    say: Callable[[str], None] = print,
    saved: Callable[[dict], None] = lambda record: None,
) -> dict:
    """Probe, train, compare and time each framework (None: every one with a chapter) on ``device`` ("gpu", or
    "cpu" standing in for it) and on the CPU; returns the record. ``timing_steps`` None trains the chapter's 5
    epochs. ``say`` is told what happens, line by line; ``saved`` is given the record after each stage, so that
    a run cut short still leaves what it measured."""
    if device not in ("gpu", "cpu"):
        raise W2VError(f"unknown device {device!r}: check on the gpu, or on the cpu standing in for it.")
    if compared_steps < 2 or (timing_steps is not None and timing_steps < compared_steps):
        raise W2VError(
            f"compare at least 2 steps, and time at least as many steps as are compared (now "
            f"{compared_steps} compared, {timing_steps} timed)."
        )
    names = [name for name in check_frameworks(frameworks or CHAPTER_FRAMEWORKS) if name != REFERENCE]
    start = time.perf_counter()
    record = new_record(device, seed, compared_steps, timing_steps)
    say("versions: " + ", ".join(f"{name} {version or '-'}" for name, version in record["versions"].items()))
    usable = probe_all(record, names, say)
    saved(record)
    with tempfile.TemporaryDirectory(prefix="w2v-verify-") as folder:
        for role, on in (("target", device), ("cpu", "cpu")):
            runs = train_each(
                usable,
                Path(folder) / role,
                Settings(seed=seed, max_steps=timing_steps, device=on),
                done=lambda name, run: say(_line(name, run)),
            )
            for name, run in runs.items():
                record["frameworks"][name].setdefault("runs", {})[role] = _figures(run, compared_steps)
            saved(record)
        oracle = train_each(
            [REFERENCE],
            Path(folder) / "oracle",
            Settings(seed=seed, max_steps=compared_steps, device="cpu"),
            done=lambda name, run: say(_line(name, run)),
        )
    record.update(
        oracle=_figures(oracle[REFERENCE], compared_steps), complete=True, seconds=time.perf_counter() - start
    )
    record.update(agreement=agreement(record), speed=speed(record))
    saved(judge(record))
    return record


def new_record(device: str, seed: int, compared_steps: int, timing_steps: int | None) -> dict:
    """The record of a check about to start: where, with what, and how much."""
    return {
        "device": device,
        "stand_in": device == "cpu",
        "complete": False,
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "package": str(Path(backends.__file__).parent),
        "versions": package_versions(LIBRARIES),
        "environment": {name: os.environ[name] for name in ENVIRONMENT if name in os.environ},
        "settings": {
            "seed": seed,
            "compared_steps": compared_steps,
            "timing_steps": timing_steps,
            "tolerance": PARITY_TOLERANCE,
            "book_printed": BOOK_PRINTED,
            "book_centers_per_sec": BOOK_CENTERS_PER_SEC,
        },
    }


def probe_all(record: dict, names: Sequence[str], say: Callable[[str], None]) -> list[str]:
    """Probe each framework into ``record``; those that can train on the record's device. None is an error that
    says why for each: there is nothing to check."""
    record["frameworks"] = {name: probe_isolated(name, record["device"]) for name in names}
    for name, found in record["frameworks"].items():
        say(f"{name}: {found.get('device') or found['status'] + ': ' + found['error']}")
    usable = [name for name, found in record["frameworks"].items() if found["status"] == "ok"]
    if not usable:
        said = "; ".join(f"{name}: {found['error'].split('. ')[0]}" for name, found in record["frameworks"].items())
        where = "sees a GPU" if record["device"] == "gpu" else "could be loaded"
        raise W2VError(
            f"no framework here {where}, so there is nothing to check ({said}). Run this on a machine "
            f"with a GPU and a GPU build of PyTorch or JAX, or with --device cpu to run the same steps on "
            f"the CPU. Nothing was trained."
        )
    record["device_name"] = record["frameworks"][usable[0]]["device"]
    return usable


def _figures(run: dict, compared_steps: int) -> dict:
    """What the record keeps of a run: its figures and the losses compared, or its status and error."""
    if run["status"] != "ok":
        return {"status": run["status"], "error": run["error"]}
    return {
        "status": "ok",
        **{key: run[key] for key in RUN_FIGURES},
        "step_losses": run["step_losses"][:compared_steps],
    }


def _line(name: str, run: dict) -> str:
    if run["status"] != "ok":
        return f"{name}: {run['status']}: {run['error']}"
    return (
        f"{name} on {run['device']}: {run['steps']:,} steps, loss {run['loss']:.4f}, "
        f"{run['centers_per_sec']:,.0f} centers/s ({run['wall_seconds']:.0f} s)"
    )


def _trained(record: dict, role: str) -> dict[str, list[float]]:
    """The compared step losses of every framework whose run in ``role`` ("target" or "cpu") trained."""
    return {
        name: found["runs"][role]["step_losses"]
        for name, found in record["frameworks"].items()
        if found.get("runs", {}).get(role, {}).get("status") == "ok"
    }


def agreement(record: dict) -> list[dict]:
    """Every comparison of step losses: each framework on the device against itself on the CPU, each pair on the
    device, and each on the device against the NumPy oracle; the largest relative difference of each."""
    target, cpu, oracle, label = _trained(record, "target"), _trained(record, "cpu"), record["oracle"], _label(record)
    pairs = {f"{name}: {label} / cpu": _largest(losses, cpu[name]) for name, losses in target.items() if name in cpu}
    pairs.update(
        {f"{pair.replace('/', ' / ')} ({label})": value for pair, value in max_relative_differences(target).items()}
    )
    if oracle["status"] == "ok":
        pairs.update(
            {
                f"{name} ({label}) / numpy oracle (cpu)": _largest(losses, oracle["step_losses"])
                for name, losses in target.items()
            }
        )
    return [
        {"pair": pair, "max_relative_difference": value, "within": value <= PARITY_TOLERANCE}
        for pair, value in pairs.items()
    ]


def _largest(losses: Sequence[float], reference: Sequence[float]) -> float:
    return float(relative_differences(losses, reference).max())


def speed(record: dict) -> list[dict]:
    """Each framework's rate on the device against its rate on the CPU and against the book's."""
    rows = []
    for name, found in record["frameworks"].items():
        runs = found.get("runs", {})
        target, cpu = runs.get("target", {}), runs.get("cpu", {})
        if target.get("status") != "ok":
            continue
        rate, cpu_rate = target["centers_per_sec"], cpu.get("centers_per_sec")
        rows.append(
            {
                "framework": name,
                "device": target["device"],
                "steps": target["steps"],
                "centers_per_sec": rate,
                "cpu_centers_per_sec": cpu_rate,
                "vs_cpu": rate / cpu_rate if cpu_rate else None,
                "vs_book": rate / BOOK_CENTERS_PER_SEC,
            }
        )
    return rows


def judge(record: dict) -> dict:
    """The record with its verdict: ``problems`` lists what failed or disagreed (a framework that does not see the
    GPU is reported, but is no problem: the check is of those that do); ``ok`` when there is none."""
    problems = [
        f"{name}: {found['error']}" for name, found in record["frameworks"].items() if found["status"] == "failed"
    ]
    problems += [
        f"{name} ({'on the ' + record['device'] if role == 'target' else 'on the cpu'}): {run['error']}"
        for name, found in record["frameworks"].items()
        for role, run in found.get("runs", {}).items()
        if run["status"] != "ok"
    ]
    if record.get("oracle", {}).get("status", "ok") != "ok":
        problems.append(f"the numpy oracle: {record['oracle']['error']}")
    problems += [
        f"{pair['pair']} differ by {pair['max_relative_difference']:.1e}, over the tolerance"
        for pair in record.get("agreement", [])
        if not pair["within"]
    ]
    if record.get("notebook", {}).get("status") == "failed":
        problems.append(f"the notebook: {record['notebook']['error']}")
    record["problems"], record["ok"] = problems, record["complete"] and not problems
    return record


def _label(record: dict) -> str:
    return "gpu" if record["device"] == "gpu" else "cpu as the gpu"


def markdown(record: dict) -> str:
    """The record as a page: what ran where, the agreement, the speeds, the notebook, the verdict."""
    sections = [_machine(record), _agreement_table(record), _speed_table(record)]
    if record.get("notebook"):
        sections.append(["## Notebook", "", _notebook_sentence(record["notebook"])])
    if record["complete"]:
        verdict = (
            "Passed: everything ran and agreed"
            if record["ok"]
            else "**Not passed**: " + "; ".join(_cell(problem) for problem in record["problems"])
        )
        sections.append(["## Verdict", "", f"{verdict} ({record['seconds']:.0f} s in all)."])
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def _machine(record: dict) -> list[str]:
    title = "GPU check" if record["device"] == "gpu" else "GPU check, with the CPU standing in for the GPU"
    machine, versions = record["machine"], record["versions"]
    lines = [
        f"# {title}: {record['started']}, {record['device_name']}",
        "",
        f"`tools/gpu_verify.py --device {record['device']}` on {machine['platform']}, Python {machine['python']}, "
        f"{machine['cpus']} CPUs; the package from {record['package']}.",
        "",
        "Versions: "
        + ", ".join(f"{name} {version}" for name, version in versions.items() if version)
        + "; not installed: "
        + (", ".join(name for name, version in versions.items() if not version) or "none")
        + ".",
        "",
    ]
    if record["environment"]:
        lines += [
            "Set in the environment: "
            + ", ".join(f"`{name}={value}`" for name, value in record["environment"].items())
            + ".",
            "",
        ]
    lines += ["| framework | device | status |", "|---|---|---|"]
    for name, found in record["frameworks"].items():
        status = "ok" if found["status"] == "ok" else f"{found['status']}: {found['error']}"
        lines.append(f"| {name} | {found.get('device', '')} | {_cell(status)} |")
    if not record["complete"]:
        lines += ["", "**Incomplete**: the check stopped before its end; what it measured so far is below."]
    return lines


def _agreement_table(record: dict) -> list[str]:
    settings = record["settings"]
    tolerance = f"{settings['tolerance']:.0e}".replace("e-0", "e-")  # 1e-4
    lines = [
        f"## Agreement: the first {settings['compared_steps']} per-step losses, seed {settings['seed']}",
        "",
        f"Largest relative difference |a − b| / |b| of each pair, step by step; the tolerance is {tolerance}, "
        f"as `make parity` holds the frameworks to on the CPU.",
        "",
        "| pair | largest relative difference | within |",
        "|---|---:|---|",
    ]
    return lines + [
        f"| {pair['pair']} | {pair['max_relative_difference']:.1e} | {'yes' if pair['within'] else '**no**'} |"
        for pair in record.get("agreement", [])
    ]


def _speed_table(record: dict) -> list[str]:
    steps, label = record["settings"]["timing_steps"], _label(record)
    length = f"{steps:,} steps" if steps else "the chapter's 5 epochs"
    lines = [
        f"## Speed: {length}, centers per second after the first step",
        "",
        f"The book's figure: its PyTorch code prints {BOOK_PRINTED:,} tokens/s on its GPU, counting center "
        f"words, but divides the centers of all {BOOK_EPOCHS} epochs by the seconds of the last epoch alone: "
        f"its rate is {BOOK_CENTERS_PER_SEC:,.0f} centers/s, which is what the last column compares with.",
        "",
        f"| framework | device | on it | on this machine's CPU | {label} / CPU | {label} / the book's GPU |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in record.get("speed", []):
        cpu = f"{row['cpu_centers_per_sec']:,.0f}" if row["cpu_centers_per_sec"] else "failed"
        ratio = f"{row['vs_cpu']:.1f}×" if row["vs_cpu"] else ""
        lines.append(
            f"| {row['framework']} | {row['device']} | {row['centers_per_sec']:,.0f} | {cpu} | {ratio} | "
            f"{row['vs_book']:.1f}× |"
        )
    return lines


def _notebook_sentence(notebook: dict) -> str:
    if notebook["status"] == "skipped":
        return f"Skipped: {notebook['reason']}."
    said = f"`{notebook['path']}`"
    if notebook["status"] == "failed":
        return f"{said} failed after {notebook['seconds']:.0f} s: {notebook['error']}"
    left_out = f" Left out: {notebook['left_out']}." if notebook.get("left_out") else ""
    budget = f" with at most {notebook['max_steps']:,} steps a run" if notebook.get("max_steps") else " in full"
    return (
        f'{said} ran{budget} in {notebook["seconds"]:.0f} s; its training printed: "{notebook["trained"]}".{left_out}'
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv: list[str]) -> None:
    """``python -m backends.experiments.verify probe FRAMEWORK DEVICE``: the probe, here, as one JSON line."""
    task, *args = argv
    if task != "probe":
        raise SystemExit(f"unknown task {task!r}")
    print(to_json(probe(*args)))


if __name__ == "__main__":
    main(sys.argv[1:])
