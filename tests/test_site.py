"""The companion site (`make site`), built from the committed notebooks and docs, zipped and unzipped, served on
127.0.0.1 and read in Debian's Chromium: every page without a console error, a broken image, raw LaTeX, a
broken internal link or a request to any other host; on the chapter page, choosing JAX switches every tab set
and survives a reload."""

import functools
import http.server
import importlib.util
import re
import shutil
import threading
import zipfile
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from backends.common.package import WHEEL
from helpers import ENVIRONMENT, ROOT

REASON = None
if importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("playwright") is None:
    REASON = "the site's packages are not installed: pip install -e '.[site]' (the book environment has them)"
elif shutil.which("chromium") is None:
    REASON = "Debian's Chromium is not installed: apt-get install -y chromium"
if REASON and ENVIRONMENT == "book":  # the book environment carries the site: its test never silently skips
    pytest.fail(REASON, pytrace=False)
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHAPTER = "notebooks/word2vec-pretraining.html"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built site, zipped and unzipped elsewhere (so it must be self-contained), served on 127.0.0.1."""
    spec = importlib.util.spec_from_file_location("make_site", ROOT / "tools" / "make_site.py")
    make_site = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_site)
    html = make_site.build()
    archive = shutil.make_archive(str(tmp_path_factory.mktemp("zip") / "site"), "zip", html)
    folder = tmp_path_factory.mktemp("unzipped")
    zipfile.ZipFile(archive).extractall(folder)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    http.server.SimpleHTTPRequestHandler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=ARGS)
        yield chromium
        chromium.close()


def pages(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*.html")
        if not {"_static", "_sources", "_images"} & set(p.parts) and p.name not in {"genindex.html", "search.html"}
    )


def _ids(folder: Path, page: str) -> set[str]:
    return set(re.findall(r'\sid="([^"]+)"', (folder / page).read_text(encoding="utf-8")))


def test_every_page_loads_whole_and_offline(site, browser):
    folder, base = site
    found = pages(folder)
    assert {
        "index.html",
        CHAPTER,
        "notebooks/compare-frameworks.html",
        "notebooks/extensions.html",
        "notebooks/approximate-training.html",
        "docs/environments.html",
        "docs/command-line.html",
        "docs/performance.html",
        "docs/reliability.html",
    } <= set(found)
    page = browser.new_page()
    elsewhere, errors = [], []
    page.on("request", lambda request: urlparse(request.url).hostname != "127.0.0.1" and elsewhere.append(request.url))
    page.on("console", lambda message: message.type == "error" and errors.append(f"{page.url}: {message.text}"))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda response: response.status >= 400 and errors.append(f"{response.status} {response.url}"))
    for name in found:
        page.goto(base + name, wait_until="load")
        page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
        broken = page.eval_on_selector_all("img", "images => images.filter(i => !(i.naturalWidth > 0)).map(i => i.src)")
        assert broken == [], name
        text = page.inner_text("body")
        assert "$$" not in text and "\\(" not in text and "\\[" not in text, f"raw LaTeX on {name}"
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            if urlparse(href).scheme or href.startswith(("mailto:", "#")) and href == "#":
                continue
            target = urlparse(urljoin(base + name, href))
            path = target.path.lstrip("/") or "index.html"
            assert (folder / path).is_file(), f"{name} links to {href}, which is not there"
            if target.fragment and path.endswith(".html"):
                assert target.fragment in _ids(folder, path), f"{name} links to {href}: no such anchor"
        assert "d2l.ai/chapter_natural-language-processing-pretraining/word2vec-pretraining.html" in page.content(), (
            name
        )
    assert elsewhere == [], elsewhere
    assert errors == [], errors


def test_the_chapter_offers_its_notebooks_the_student_notebooks_and_the_wheel(site):
    """What a teacher hands out comes from the site: each link fetched as a reader's browser would fetch it."""
    folder, base = site
    links = re.findall(r'href="([^"]+\.(?:ipynb|whl))"', (folder / CHAPTER).read_text(encoding="utf-8"))
    fetched = {urlparse(urljoin(base + CHAPTER, link)).path.lstrip("/") for link in links}
    assert {Path(path).name for path in fetched} == {"word2vec-pretraining.ipynb", WHEEL}
    assert len(fetched) == 9  # the four chapter notebooks, the four student notebooks, the wheel
    wheel = next(path for path in fetched if path.endswith(".whl"))
    with zipfile.ZipFile(folder / wheel) as archive:
        assert {"backends/data/ptb.zip", "backends/data/wordsim353.tsv", "backends/torch.py"} <= set(archive.namelist())
    students = [
        path for path in fetched if path.endswith(".ipynb") and '"student": true' in (folder / path).read_text()
    ]
    assert len(students) == 4 and all("tryit.hint(w2v" in (folder / path).read_text() for path in students)


def _chosen(page) -> list[tuple[str, bool]]:
    """Per tab set on the page: the framework whose tab is chosen, and whether its panel alone is shown."""
    return page.evaluate("""() => [...document.querySelectorAll('.sd-tab-set')].map(set => {
        const inputs = [...set.querySelectorAll(':scope > input')];
        const chosen = inputs.find(i => i.checked);
        const shown = [...set.querySelectorAll(':scope > .sd-tab-content')].filter(c => c.offsetParent !== null);
        return [chosen.nextElementSibling.dataset.syncId, shown.length === 1 &&
                shown[0].previousElementSibling.previousElementSibling === chosen];
    })""")


def test_choosing_jax_switches_every_tab_set_and_is_remembered(site, browser, tmp_path):
    _, base = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + CHAPTER, wait_until="load")
    before = _chosen(page)
    assert len(before) >= 8 and {framework for framework, _ in before} == {"torch"}
    page.locator('label.sd-tab-label[data-sync-id="jax"]').first.click()
    assert _chosen(page) == [["jax", True]] * len(before)
    page.reload(wait_until="load")
    assert _chosen(page) == [["jax", True]] * len(before)
    page.goto(base + "index.html", wait_until="load")
    page.goto(base + CHAPTER, wait_until="load")
    assert _chosen(page) == [["jax", True]] * len(before)
    for other in ("notebooks/compare-frameworks.html", "notebooks/approximate-training.html"):  # the code side by side
        page.goto(base + other, wait_until="load")
        shown = _chosen(page)
        assert shown and shown == [["jax", True]] * len(shown), other
