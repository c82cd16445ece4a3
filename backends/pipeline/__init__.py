"""The data pipeline, in NumPy alone: from the shipped Penn Treebank to fixed-shape batches.

``corpus`` reads and indexes the text (with ``tokenizer``), ``noise`` draws noise words, ``models`` holds the
two model types (skip-gram, CBOW) with their batch layouts, ``examples`` makes one draw of examples (a
``draw.Draw``) and ``dataset`` serves a dataset's draws as batches. No framework is imported here: every
framework trains on the same batches, bit for bit.
"""

from backends.pipeline.corpus import Corpus, Vocab, corpus_from_text, load_corpus, read_ptb_text
from backends.pipeline.dataset import Dataset, load_data, make_dataset
from backends.pipeline.models import CBOW, MODELS, SKIP_GRAM, Batch, CbowBatch, Model, SkipGramBatch

__all__ = [
    "Batch",
    "CBOW",
    "CbowBatch",
    "Corpus",
    "Dataset",
    "MODELS",
    "Model",
    "SKIP_GRAM",
    "SkipGramBatch",
    "Vocab",
    "corpus_from_text",
    "load_corpus",
    "load_data",
    "make_dataset",
    "read_ptb_text",
]
