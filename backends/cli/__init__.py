"""The command line (``python -m backends``) and what it runs beyond one training: ``compare`` and ``parity``
(each framework in a process of its own), ``report`` (the figures and summary of a results folder) and
``bench`` (speed against the book's own code and gensim)."""
