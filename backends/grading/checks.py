"""The grader's last cell: the chapter's checks run on a submission's own functions, in its kernel, after its cells.

The grader appends :data:`CELL` (formatted) to a submitted notebook. It imports this package afresh, so that a
submission that replaced the backend's functions in its own copy (``w2v.skip_gram = my_skip_gram``) is still
checked against the backend's; then :func:`record` checks ``my_skip_gram``, ``my_masked_bce`` and ``my_step``
where the notebook defined them, and trains with those that agree against the backend's own run from the same
seed. Each check writes one JSON line as soon as it has an answer, so a check that hangs or crashes the kernel
leaves the answers before it on disk.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from backends.common.messages import agreeing, listed

CHECKS = ("skip_gram", "masked_bce", "step", "training")  # in the order a student meets them
FUNCTIONS = {"skip_gram": "my_skip_gram", "masked_bce": "my_masked_bce", "step": "my_step"}  # check: the variable
TRAINING_STEPS = 200  # the steps trained with the student's functions against the backend's own run
CHECK_SECONDS = 120  # one check's time limit, inside the kernel (the grader's limit on the whole run is another)
CELL = """\
import sys as _sys
for _module in [name for name in _sys.modules if name == "backends" or name.startswith("backends.")]:
    del _sys.modules[_module]  # the package afresh: the checks compare against the backend as shipped
from backends.grading import checks as _grading
_grading.record(globals(), {framework!r}, {path!r})
"""


class CheckTimeout(Exception):
    """A check ran past :data:`CHECK_SECONDS` (raised inside the student's function, which the check reports)."""


@contextlib.contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    """Raise :class:`CheckTimeout` where the code runs after ``seconds`` (POSIX signals; elsewhere, no limit)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expired(signum: int, frame: Any) -> None:
        raise CheckTimeout(f"it ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _write(path: Path, check: str, status: str, message: str) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps({"check": check, "status": status, "message": message}) + "\n")


def _checked(run: Callable[[], Any], check: str) -> tuple[str, str]:
    """The status and message of one check, whatever happens inside it."""
    from backends.display.tryit import FAILED  # imported where used, as tryit is: see record

    try:
        with _time_limit(CHECK_SECONDS):
            agreement = run()
    except CheckTimeout as error:
        return FAILED, f"the {check} check stopped: {error}."
    except Exception as error:  # noqa: BLE001 - a grade is still written: the check's own failure is the message
        return FAILED, f"the {check} check could not run: {type(error).__name__}: {error}"
    return agreement.status, agreement.message


def _names_used(function: Callable) -> set[str]:
    """The global names ``function`` uses, its nested functions' included (JAX's step defines its loss inside)."""
    names, codes = set(), [getattr(function, "__code__", None)]
    while codes:
        code = codes.pop()
        if code is not None:
            names.update(code.co_names)
            codes += [const for const in code.co_consts if hasattr(const, "co_names")]
    return names


def record(namespace: dict[str, Any], framework: str, path: str) -> None:
    """Check the functions ``namespace`` (a notebook's globals) defines against ``framework``'s backend, and
    write one JSON line per check of :data:`CHECKS` to ``path``."""
    from backends.display import tryit  # not at the top: grading.run imports CHECKS, and the CLI imports grading.run
    from backends.display.tryit import FAILED, NOT_ATTEMPTED, PASSED
    from backends.pipeline.dataset import load_data

    out = Path(path)
    backend = importlib.import_module(f"backends.{framework}")
    data = load_data(seed=0)
    passed, not_passed = {}, []  # the functions checked so far, by whether they passed
    for check, variable in FUNCTIONS.items():
        function = namespace.get(variable)
        if not callable(function):
            _write(out, check, NOT_ATTEMPTED, f"the notebook defines no function {variable}.")
            not_passed.append(variable)
            continue
        status, message = _checked(functools.partial(tryit.check, backend, check, function, data), check)
        calls = [name for name in not_passed if name in _names_used(function)]  # my_step calls the other two
        if status == FAILED and calls:
            message += (
                f" ({variable} calls {listed(calls)}, which did not pass "
                f"{agreeing(len(calls), 'its check', 'their checks')}: fix that first.)"
            )
        _write(out, check, status, message)
        if status == PASSED:
            passed[check] = function
        else:
            not_passed.append(variable)
    if not passed:
        _write(out, "training", NOT_ATTEMPTED, "no function passed its check, so there is nothing to train with.")
        return

    def training() -> Any:
        reference = backend.train(data, max_steps=TRAINING_STEPS, progress=False)
        return tryit.train_with(backend, data, reference, steps=TRAINING_STEPS, **passed)

    _write(out, "training", *_checked(training, "training"))
