"""What the package is called, its version, and where it can be had: written once, read by pyproject.toml (the
version), the notebooks' first cell (how to install it where it is missing) and the messages on a missing
framework.

The package travels as a wheel, one file with the data inside (``make wheel``, and on the companion site beside
the notebooks): a teacher hands it out with the notebooks, and a notebook beside it installs it with one
``%pip install`` of its file name. Where the repository is published, :data:`REPOSITORY` holds its address,
and the messages name that way too.
"""

from __future__ import annotations

PACKAGE = "w2v-companion"
VERSION = "0.1.0"
WHEEL = f"{PACKAGE.replace('-', '_')}-{VERSION}-py3-none-any.whl"  # the file `make wheel` writes, as pip names it
REPOSITORY: str | None = None  # the repository's public git address (https://...), once there is one
