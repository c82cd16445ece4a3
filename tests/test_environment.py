"""The environments: two lock files of exact pins, the conda twins derived from them, the package's ranges
that both satisfy, and the registry of frameworks that all of them follow."""

import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from backends.common.frameworks import ENVIRONMENTS, REGISTRY
from helpers import ENVIRONMENT, NEEDS, missing

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"book": "requirements.txt", "current": "requirements-current.txt"}
CONDA = {"book": "environment.yml", "current": "environment-current.yml"}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"[A-Za-z0-9_.\-]+==[0-9][A-Za-z0-9_.+\-]*( ; .+)?")


def requirement_lines(name: str) -> list[str]:
    lines = (ROOT / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def pinned(environment: str) -> dict[str, Version]:
    """Each package of an environment's lock file with its version for this Python (markers evaluated)."""
    versions = {}
    for line in requirement_lines(LOCKS[environment]):
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            versions[requirement.name.lower().replace("_", "-")] = Version(str(requirement.specifier).lstrip("="))
    return versions


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_requirement_is_an_exact_pin(environment):
    lines = requirement_lines(LOCKS[environment])
    assert len(lines) > 20
    for line in lines:
        assert PIN.fullmatch(line), line
    keys = [(line.split("==")[0].lower(), line.partition(";")[2]) for line in lines]
    assert len(keys) == len(set(keys))  # one pin per package (and platform or Python, where markers split it)
    versions = pinned(environment)
    assert versions["torch"] == Version("2.13.0")  # a range would pull PyPI's multi-GB CUDA build here
    assert {"nbval", "pytest", "hypothesis", "jupytext", "nbclient", "pyyaml"} <= set(versions)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_lock_holds_its_chosen_pins_and_their_dependencies(environment):
    """The .in file is what a person chooses; the lock must keep those versions and add the rest, so that a
    new release of a dependency cannot change an environment that is built again."""
    chosen = {Requirement(line) for line in requirement_lines(LOCKS[environment].replace(".txt", ".in"))}
    versions = pinned(environment)
    for requirement in chosen:
        name = requirement.name.lower().replace("_", "-")
        assert name in versions and requirement.specifier.contains(versions[name]), f"{requirement} vs the lock"
    assert len(versions) > 2 * len(chosen)  # the dependencies are pinned too, not only what was chosen
    assert {"matplotlib-inline", "ipython", "jupyter-client", "tornado"} <= set(versions)


def test_the_book_keeps_numpy_1_and_current_has_numpy_2():
    assert pinned("book")["numpy"] == Version("1.23.5") and "d2l" in pinned("book")
    assert pinned("current")["numpy"].major == 2 and "d2l" not in pinned("current")


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_lock_carries_exactly_its_frameworks_and_peers(environment):
    versions = pinned(environment)
    for name, entry in NEEDS.items():
        present = all(module in versions for module in entry.modules)
        assert present == (environment in entry.environments), f"{name} in {LOCKS[environment]}"


def test_pyproject_has_one_extra_per_framework_and_admits_python_3_11_to_3_13():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert set(extras) == {entry.extra for entry in REGISTRY.values() if entry.extra} | {
        "gensim",
        "site",
        "test",
        "grade",
        "lint",
    }
    for entry in REGISTRY.values():
        if entry.extra:
            named = {Requirement(r).name for r in extras[entry.extra]}
            assert set(entry.modules) <= named, entry.name
    python = SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert all(version in python for version in ("3.11.0", "3.12.4", "3.13.1")) and "3.10.14" not in python


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_both_locks_satisfy_the_package_ranges(environment):
    """`pip install -e ".[torch]"` into either environment installs nothing new for what is already there."""
    versions = pinned(environment)
    extras = PYPROJECT["project"]["optional-dependencies"]
    carried = [entry.extra for entry in REGISTRY.values() if entry.extra and environment in entry.environments]
    carried += ["gensim", "test", "grade"] + (
        ["site", "lint"] if environment == "book" else []
    )  # built, linted in the book's
    requirements = PYPROJECT["project"]["dependencies"] + [r for extra in carried for r in extras[extra]]
    for line in requirements:
        requirement = Requirement(line)
        name = requirement.name.lower()
        assert name in versions, f"{name} is not pinned in {LOCKS[environment]}"
        assert requirement.specifier.contains(versions[name], prereleases=True), f"{line} vs {versions[name]}"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_conda_twins_derive_from_the_locks(environment):
    env = yaml.safe_load((ROOT / CONDA[environment]).read_text())
    python = next(item for item in env["dependencies"] if isinstance(item, str) and item.startswith("python="))
    assert python.split("=")[1] in ("3.11", "3.12", "3.13") and (environment != "book" or python == "python=3.11")
    pip_part = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    assert pip_part == [f"-r {LOCKS[environment]}", "-e ."]


def test_makefile_builds_each_venv_from_its_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --disable-pip-version-check -r $(REQUIREMENTS)" in makefile
    for lock in LOCKS.values():
        assert f"REQUIREMENTS := {lock}" in makefile
    assert "echo $(PROFILE) > $(VENV)/w2v-environment" in makefile


def test_this_environment_has_every_framework_it_must_carry():
    """Under `make test` the venv records its environment: there, a missing framework (or gensim) fails, never
    skips. `make test-minimal`'s venv records none: there everything but NumPy may be missing."""
    if ENVIRONMENT is None:
        pytest.skip(f"not an environment built by make venv (no {Path(sys.prefix) / 'w2v-environment'})")
    assert ENVIRONMENT in ENVIRONMENTS
    lacking = [name for name, entry in NEEDS.items() if ENVIRONMENT in entry.environments and missing(name)]
    assert lacking == []
