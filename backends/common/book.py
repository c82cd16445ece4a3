"""What section 15.4 of *Dive into Deep Learning* prints, for the places that set our numbers beside the book's.

Read from the book's PyTorch code and its printed output: its ``train`` makes its ``Accumulator`` once, before
the epoch loop, and its ``Timer`` anew every epoch, so the loss it prints is the mean over every example of all
5 epochs, and its "tokens/sec" counts the center words of all 5 epochs over the seconds of the last one alone.
"""

BOOK_LOSS = 0.410  # "loss 0.410": the mean loss over all 5 epochs of the chapter's settings
BOOK_PRINTED = 223_842  # "223842.4 tokens/sec on cuda:0": center words, on the book's GPU
BOOK_EPOCHS = 5
BOOK_CENTERS_PER_SEC = BOOK_PRINTED / BOOK_EPOCHS  # the same training's rate over all its seconds
