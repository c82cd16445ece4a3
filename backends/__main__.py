"""``python -m backends``: see :mod:`backends.cli.main`."""

import sys

try:
    import backends

    if getattr(backends, "__file__", None) is None:  # a namespace package: a bare folder named backends came first
        print(
            f"error: the folder {', '.join(backends.__path__)} (named backends, with no __init__.py) hides the "
            f"w2v-companion package from Python, as it comes first on the import path (the working folder). Run "
            f"the command from another folder, or rename that one. Nothing was done.",
            file=sys.stderr,
        )
        sys.exit(2)
    from backends.cli.main import main
except KeyboardInterrupt:  # Ctrl-C while the project is still being imported: nothing had started
    print("error: interrupted (Ctrl-C) before the command started; nothing was done.", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
