"""The command line (``python -m backends``): each command parses its options, calls the library
(:mod:`backends.experiments` for runs and comparisons) and prints what came of it. Nothing in the package
imports it but ``python -m backends``; the maintainers' tools (tools/) use its parser and error handling, so
that they refuse a mistake as the commands do."""
