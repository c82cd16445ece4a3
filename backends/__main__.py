"""``python -m backends``: see :mod:`backends.cli.main`."""

import sys

try:
    from backends.cli.main import main
except KeyboardInterrupt:  # Ctrl-C while the project is still being imported: nothing had started
    print("error: interrupted (Ctrl-C) before the command started; nothing was done.", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
