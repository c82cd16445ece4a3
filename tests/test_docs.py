"""The front page and the docs pages: short enough to read, and every link between them leads somewhere."""

import re
from pathlib import Path

import pytest

from helpers import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for the page's headings: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"(?m)^#+ (.*)$", page.read_text(encoding="utf-8"))
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_resolves(page):
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # another site: not followed (no network here)
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in anchors(linked)):
            broken.append(target)
    assert not broken, f"{page.name} links to what is not there: {broken}"


def test_the_front_page_is_short_and_shows_the_curves_near_the_top():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 120
    picture = next(i for i, line in enumerate(lines) if line.startswith("!["))
    assert picture < 15 and "docs/loss_curves.png" in lines[picture]
    for page in PAGES[1:]:
        if page.name != "summary.md":  # written by `make docs`, linked from results.md
            assert f"](docs/{page.name})" in "\n".join(lines), f"the README does not link {page.name}"
