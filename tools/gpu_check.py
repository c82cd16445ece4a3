"""`make gpu-check`: resolve one environment's GPU builds against PyPI, as a reader's machine sees it, installing
nothing.

No GPU has been lent to this project yet, so the GPU install path is checked by resolution only: pip, with
this machine's settings ignored (``--isolated``: no local CPU wheel of torch, no version cap), works out
every package `make venv GPU=1` would install on Linux x86-64 and what build each framework would get.

    python tools/gpu_check.py book|current
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = {"book": "requirements-gpu.txt", "current": "requirements-current-gpu.txt"}
# Resolved one by one, beside the file: a package that replaces one of the file's, or one expected to fail.
SEPARATE = {
    "book": [
        ("mxnet-cu112==1.9.1", True, "MXNet's CUDA 11.2 build (replaces the CPU wheel)"),
        (
            "jaxlib==0.4.23+cuda12.cudnn89",
            False,
            "jaxlib 0.4.23 built for CUDA (what jax[cuda12_pip] asks for): never on PyPI",
        ),
    ],
    "current": [],
}


def resolve(requirements: list[str]) -> tuple[dict | None, str]:
    """pip's installation report for ``requirements`` (None if they do not resolve), and pip's last words."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--isolated",
                "install",
                "--dry-run",
                "--ignore-installed",
                "--quiet",
                "--prefer-binary",
                "--disable-pip-version-check",
                "--report",
                str(report),
                *requirements,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR:")]
        said = (errors or done.stderr.strip().splitlines() or [""])[-1]
        return (json.loads(report.read_text()) if done.returncode == 0 else None), said


def builds(report: dict) -> dict[str, str]:
    """The resolved version of every package, by name."""
    return {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in report["install"]}


def main(profile: str) -> int:
    print(
        f"Resolving {FILES[profile]} against PyPI for Python {sys.version_info.major}.{sys.version_info.minor} "
        f"on Linux x86-64 (this takes a minute) ..."
    )
    report, said = resolve(["-r", FILES[profile]])
    if report is None:
        print(f"FAILED: {FILES[profile]} does not resolve: {said}")
        return 1
    versions = builds(report)
    cuda = sorted(name for name in versions if name.startswith(("nvidia-", "cuda-")))
    print(f"ok: {len(versions)} packages, {len(cuda)} of them CUDA libraries from PyPI")
    for name in ("torch", "jax", "jax-cuda12-plugin", "tensorflow", "mxnet"):
        if name in versions:
            print(f"  {name} {versions[name]}")
    print(f"  CUDA libraries: {', '.join(f'{name} {versions[name]}' for name in cuda)}")
    status = 0
    for requirement, expected, what in SEPARATE[profile]:
        separate, said = resolve(["--no-deps", requirement])
        if (separate is not None) == expected:
            print(f"as expected, {what}: {'resolves' if expected else 'does not resolve (' + said + ')'}")
        else:
            print(f"UNEXPECTED, {what}: {'does not resolve: ' + said if expected else 'resolves now'}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
