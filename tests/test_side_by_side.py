"""The comparison notebook's code side by side (backends.display.side_by_side): read from the backend files,
linked to the lines it shows, there for every chapter framework even where none is installed."""

import re
import subprocess
import sys

import pytest

from backends.common.errors import W2VError
from backends.common.frameworks import CHAPTER_FRAMEWORKS, REGISTRY
from backends.display import side_by_side
from helpers import ROOT


@pytest.mark.parametrize(
    "name, opening", [("skip_gram", "def skip_gram("), ("masked_bce", "def masked_bce("), ("Trainer", "class Trainer:")]
)
def test_each_framework_shows_its_own_definition_linked_to_its_lines(name, opening):
    text = side_by_side.markdown(name)
    headings = re.findall(
        r"^\*\*(\w+)\*\*, \[`backends/(\w+)\.py`\]\(\.\./backends/(\w+)\.py#L(\d+)\):$", text, re.MULTILINE
    )
    assert [(title, framework, linked) for title, framework, linked, _ in headings] == [
        (REGISTRY[framework].title, framework, framework) for framework in CHAPTER_FRAMEWORKS
    ]
    for _, framework, _, first in headings:
        lines = (ROOT / "backends" / f"{framework}.py").read_text(encoding="utf-8").splitlines()
        shown = side_by_side.source(framework, name)
        assert lines[int(first) - 1] == shown.splitlines()[0] and shown.startswith(opening)
        assert "\n".join(lines[int(first) - 1 : int(first) - 1 + len(shown.splitlines())]) == shown  # the file's lines
        assert f"```python\n{shown}\n```" in text


def test_several_names_come_in_order_and_a_name_a_backend_lacks_is_left_out():
    mxnet = side_by_side.source("mxnet", "_sigmoid_bce", "masked_bce")
    assert mxnet.startswith("_sigmoid_bce = gluon.loss.SigmoidBCELoss()") and "\ndef masked_bce(" in mxnet
    assert side_by_side.source("torch", "_sigmoid_bce", "masked_bce").startswith("def masked_bce(")
    with pytest.raises(W2VError, match="backends/torch.py defines none of no_such_function: name a function"):
        side_by_side.markdown("no_such_function")


def test_the_code_is_read_without_importing_any_framework():
    blocked = "import sys; sys.modules.update(dict.fromkeys(['torch', 'mxnet', 'jax', 'flax', 'optax', 'tensorflow']))"
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            f"{blocked}; from backends.display import side_by_side; print(side_by_side.markdown('skip_gram'))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert shown.returncode == 0, shown.stderr
    assert all(call in shown.stdout for call in ("torch.bmm(", "npx.batch_dot(", "jnp.einsum(", "tf.matmul("))
