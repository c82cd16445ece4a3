"""The chapter backends' code next to each other: one definition as each framework writes it.

The code is read from the backend files themselves (``backends/<framework>.py``, parsed, never imported), so
the comparison notebook shows what runs, cannot go stale, and shows a framework that is not installed too.
The result is Markdown (a heading and a code block per framework, in the same order every time), which
Jupyter, GitHub and the site all render with highlighting.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from backends.common.errors import W2VError
from backends.common.frameworks import CHAPTER_FRAMEWORKS, REGISTRY

PACKAGE = Path(__file__).resolve().parent.parent  # backends/


@cache
def _definitions(framework: str) -> dict[str, tuple[int, int, str]]:
    """Every top-level function, class and assignment of ``backends/<framework>.py``: name → (first line,
    last line, source), decorators included."""
    path = PACKAGE / f"{framework}.py"
    text = path.read_text(encoding="utf-8")
    found = {}
    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [target.id for target in node.targets if isinstance(target, ast.Name)]
        else:
            continue
        first = min([node.lineno, *(decorator.lineno for decorator in getattr(node, "decorator_list", []))])
        last = node.end_lineno or node.lineno  # always set by ast.parse
        source = "\n".join(text.splitlines()[first - 1 : last])
        found.update({name: (first, last, source) for name in names})
    return found


def source(framework: str, *names: str) -> str:
    """The definitions ``names`` of ``framework``'s backend, in that order, those it has (at least one)."""
    definitions = _definitions(framework)
    present = [definitions[name][2] for name in names if name in definitions]
    if not present:
        raise W2VError(
            f"backends/{framework}.py defines none of {', '.join(names)}: name a function or class "
            f"it defines, such as skip_gram, masked_bce or Trainer."
        )
    return "\n\n\n".join(present)


def versions(*names: str, frameworks: tuple[str, ...] = CHAPTER_FRAMEWORKS, link_from: str = "..") -> dict[str, str]:
    """``names`` as each framework writes them, by framework: a link to its file at the first definition shown
    (relative to ``link_from``, the folder of the page that shows it), then the code (the site puts each in a tab
    of its own)."""
    found = {}
    for framework in frameworks:
        code = source(framework, *names)
        first = min(line for name, (line, _, _) in _definitions(framework).items() if name in names)
        where = f"{link_from}/backends/{framework}.py#L{first}"
        found[framework] = f"[`backends/{framework}.py`]({where}):\n\n```python\n{code}\n```"
    return found


def markdown(*names: str, frameworks: tuple[str, ...] = CHAPTER_FRAMEWORKS, link_from: str = "..") -> str:
    """:func:`versions` one after the other, each under the framework's name in bold."""
    shown = versions(*names, frameworks=frameworks, link_from=link_from)
    return "\n\n".join(f"**{REGISTRY[framework].title}**, {block}" for framework, block in shown.items())


def shown_in(code: str) -> list[tuple[str, ...]]:
    """The names each ``side_by_side.show(...)`` call in a notebook cell's ``code`` shows, call by call."""
    python = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))  # magics
    return [
        tuple(str(arg.value) for arg in node.args if isinstance(arg, ast.Constant))
        for node in ast.walk(ast.parse(python))
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("side_by_side.show")
    ]


def show(*names: str, frameworks: tuple[str, ...] = CHAPTER_FRAMEWORKS):
    """Display :func:`markdown` in a notebook (the comparison notebook sits in notebooks/, one below the root)."""
    from IPython.display import Markdown

    return Markdown(markdown(*names, frameworks=frameworks, link_from=".."))
