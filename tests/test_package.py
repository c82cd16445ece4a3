"""The package as it is installed: the shipped data inside it, and messages true for the layout they are in.

`make check-install` builds the wheel and the sdist and trains from an empty folder with the package
installed (not editable); these are the quick checks of the same things in this environment.
"""

import tomllib
from pathlib import Path

from backends.common import frameworks, shipped
from backends.common.frameworks import REGISTRY
from backends.common.package import WHEEL
from backends.pipeline import corpus
from backends.vectors import evaluation
from helpers import ROOT


def test_the_package_reads_the_one_copy_of_the_data_through_its_link():
    assert (ROOT / "backends" / "data").is_symlink() and (ROOT / "backends" / "data").resolve() == ROOT / "data"
    assert shipped.DATA_DIR == ROOT / "data" and shipped.IN_CLONE
    assert corpus.PTB_ZIP == ROOT / "data" / "ptb.zip" and evaluation.WORDSIM == ROOT / "data" / "wordsim353.tsv"


def test_the_wheel_is_told_to_carry_every_file_the_code_reads():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert sorted(package_data["backends.data"]) == sorted([corpus.PTB_ZIP.name, evaluation.WORDSIM.name])
    assert all((ROOT / "data" / name).stat().st_size > 1000 for name in package_data["backends.data"])


def test_how_to_restore_a_shipped_file_depends_on_the_layout(monkeypatch):
    assert (
        shipped.restore_hint("ptb.zip") == "Restore it with `git checkout -- data/ptb.zip` (the repository ships it)."
    )
    monkeypatch.setattr(shipped, "IN_CLONE", False)  # as in a wheel installed into site-packages
    hint = shipped.restore_hint("wordsim353.tsv")
    assert "git" not in hint and "reinstall it (pip install --force-reinstall --no-deps" in hint
    assert str(Path(shipped.DATA_DIR) / "wordsim353.tsv") in hint


def test_how_to_install_a_framework_depends_on_the_layout(monkeypatch):
    torch, mxnet = REGISTRY["torch"], REGISTRY["mxnet"]
    assert torch.how_to_install() == 'Install it with `pip install -e ".[torch]"` in the project folder.'
    monkeypatch.setattr(shipped, "IN_CLONE", False)  # installed from the wheel: the extra's own requirements
    assert torch.how_to_install() == 'Install it with `pip install "torch<3,>=2.4"`.'
    assert mxnet.how_to_install().startswith(
        'Install it with `pip install "mxnet<2,>=1.9.1" "numpy<1.24"` (MXNet 1.9.1, its last release, needs Python 3.11'
    )
    monkeypatch.setattr(frameworks.metadata, "requires", lambda name: None)  # no metadata to read: the wheel's name
    assert torch.how_to_install() == (f'Install it with `pip install "{WHEEL}[torch]"` in the folder of the wheel.')


def test_the_install_line_names_no_placeholder_and_the_repository_only_where_recorded(monkeypatch):
    line = REGISTRY["jax"].notebook_install()
    assert f'%pip install "{WHEEL}[jax]"' in line and "git+" not in line and "ADDRESS" not in line
    monkeypatch.setattr(frameworks, "REPOSITORY", "https://example.org/w2v-companion.git")
    assert (
        REGISTRY["jax"]
        .notebook_install()
        .endswith(
            'Or, without the wheel: %pip install "w2v-companion[jax] @ git+https://example.org/w2v-companion.git".'
        )
    )
