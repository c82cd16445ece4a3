"""One source of truth for versions: requirements.txt pins everything; the rest derives from it."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def requirement_lines():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def test_every_requirement_is_an_exact_pin():
    lines = requirement_lines()
    assert len(lines) > 20
    for line in lines:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][A-Za-z0-9_.+\-]*", line), line
    names = [line.split("==")[0].lower() for line in lines]
    assert len(names) == len(set(names))
    assert {"torch", "mxnet", "jax", "flax", "optax", "tensorflow", "nbval", "pytest"} <= set(names)


def test_environment_yml_derives_from_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"] and "pip" in env["dependencies"]
    pip_part = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    assert pip_part == ["-r requirements.txt", "-e ."]


def test_makefile_builds_the_venv_from_requirements():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --disable-pip-version-check -r requirements.txt" in makefile
    assert "$(STAMP): requirements.txt" in makefile
