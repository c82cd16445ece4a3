"""Grading submitted student notebooks (``python -m backends grade``): each run in a process of its own, with
limits, and the chapter's checks run on the student's functions after their notebook (:mod:`.checks`)."""
