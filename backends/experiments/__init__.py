"""Runs and comparisons as a library: what the command line, the notebooks and the tools call.

- :mod:`~backends.experiments.runs`: a run's folder, its one owner: staged, swapped in whole, resumed, read back
- :mod:`~backends.experiments.train`: one framework (or gensim) trained into its run folder
- :mod:`~backends.experiments.isolated`: a framework trained in a process of its own, never stopping the caller
- :mod:`~backends.experiments.agreement`: how far two runs' per-step losses differ, and the tolerance for it
- :mod:`~backends.experiments.compare`, :mod:`~backends.experiments.parity`, :mod:`~backends.experiments.diff`:
  several frameworks from one seed, their losses held to the tolerance, and two result folders side by side
- :mod:`~backends.experiments.report` and :mod:`~backends.experiments.summary`: the figures and summary of a
  results folder, and the summary as text
- :mod:`~backends.experiments.verify`: the GPU check (``tools/gpu_verify.py``)

Nothing here imports :mod:`backends.cli`, which sits on top: it parses arguments, calls this and prints.
Importing this package imports none of its modules, so a light one (agreement) stays light.
"""
