"""Sphinx settings of the companion site (`make site`): the pages are staged by tools/make_site.py.

myst-nb renders the committed, executed notebooks as they are (nothing runs at build time) and MyST Markdown
pages; sphinx-design gives the tab sets that switch framework; sphinx-mathjax-offline serves MathJax from the
site itself, so that no page asks the internet for anything.
"""

project = "w2v-companion"
author = "the w2v-companion authors"
copyright = "2026, the w2v-companion authors"
BOOK = "https://d2l.ai/chapter_natural-language-processing-pretraining/word2vec-pretraining.html"

extensions = ["myst_nb", "sphinx_design", "sphinx-mathjax-offline"]
root_doc = "index"
# The four chapter notebooks are files to download (the page merges them), and so are the student notebooks.
exclude_patterns = ["notebooks/*/*.ipynb", "notebooks/student/*/*.ipynb"]
nb_execution_mode = "off"  # the notebooks carry the outputs of a full run
myst_enable_extensions = ["colon_fence", "dollarmath", "amsmath"]
myst_heading_anchors = 3  # links such as environments.md#your-own-jupyter-or-colab resolve
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_favicon = "favicon.svg"  # a falling loss curve; without one, browsers ask the server for /favicon.ico
html_title = "w2v-companion: Pretraining word2vec in four frameworks"
html_show_sourcelink = False
html_context = {"default_mode": "light"}  # without it the theme logs an error on every page
html_theme_options = {
    "extra_footer": f'A companion to <a href="{BOOK}">Dive into Deep Learning, 15.4 Pretraining word2vec</a>.',
    "show_toc_level": 2,
}
