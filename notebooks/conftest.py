"""nbval runs a notebook only where the framework it trains is installed (see tests/installed.py): elsewhere its
cells are skipped with the install command as the reason, except in an environment that must carry that
framework, where the notebook runs and fails."""

from pathlib import Path

import pytest

from backends.frameworks import REGISTRY
from installed import skip_reason

# A chapter notebook's folder names its framework; the extensions notebook trains with JAX; the comparison
# notebook trains whichever frameworks are installed and reports the others.
NEEDS = {"extensions.ipynb": "jax"}


def pytest_collection_modifyitems(items):
    for item in items:
        path = Path(item.path)
        name = path.parent.name if path.parent.name in REGISTRY else NEEDS.get(path.name)
        reason = skip_reason(name) if name else None
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
