"""``python -m backends``: see :mod:`backends.cli.main`."""

import sys

from backends.cli.main import main

sys.exit(main())
