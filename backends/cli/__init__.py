"""The command line (``python -m backends``): each command parses its options, calls the library
(:mod:`backends.experiments` for runs and comparisons) and prints what came of it. Nothing imports this
package but ``python -m backends`` and the maintainers' tools, which run as commands do."""
