"""``python -m backends``: see :mod:`backends.cli`."""

import sys

from backends.cli import main

sys.exit(main())
