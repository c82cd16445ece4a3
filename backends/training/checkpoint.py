"""Checkpoints: everything needed to continue a run exactly where it stopped, in one atomic file.

A checkpoint holds the two tables, Adam's moments and step count (a backend's ``state(trainer)``, plain
NumPy arrays in the same layout for every framework, :class:`backends.training.state.TrainerState`) and
where the run stood: the epoch, the next batch of that epoch, the losses so far. The pipeline needs no saved
random state: an epoch's batches depend only on the seed and the epoch, so skipping the batches already
trained puts it exactly where it was.
The file is written to a temporary name and renamed, so a run killed while saving leaves the previous
checkpoint whole.

:func:`load` trusts nothing in the file: before any of it is used, every array is checked against its header
(dtype, shape, size) before its data is read, the position field by field (types, ranges, finite numbers),
and the two against each other and against the run resuming it (the vocabulary's size, the embedding size,
the number of batches an epoch has). A file that fails any check is one sentence naming the field.
The position's fields and the state's arrays are declared with their rules (``_POSITION``, ``_ARRAYS``) and checked
in a loop over the declarations, in their order; :func:`_across` holds the checks that read several fields.
"""

from __future__ import annotations

import functools
import io
import json
import math
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, NoReturn, TypeGuard

import numpy as np

from backends.common.errors import W2VError
from backends.common.files import atomic_path, readable_file
from backends.common.messages import agreeing, counted, truncated
from backends.common.settings import DEFAULTS, MUST_MATCH_ON_RESUME
from backends.pipeline.corpus import FACTS
from backends.training.state import KEYS, TABLES, TrainerState

FORMAT = 3  # 3: the run's settings are recorded under "settings", every one of them
# What must match to continue a run: every setting but those a resumed run may change (epochs, max_steps, the
# device), and the corpus, by its sizes and fingerprint.
MUST_MATCH = (*MUST_MATCH_ON_RESUME, *FACTS)
FIX = "Train again with --restart to start over, replacing it."
NOT_A_CHECKPOINT = "is not a checkpoint (a .npz file written by train --checkpoint-every)"
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, NotImplementedError, RuntimeError)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_finite(value: Any) -> bool:
    """A number that is neither infinite nor NaN (an int too large for a float, such as 10**400, is not)."""
    if not _is_number(value):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


# -- the position: its fields and their rules ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Field:
    """A field of the position beside "format", with its rule: a value that ``accepts`` refuses is named with
    ``expected`` ("its position's epoch is -1, not a whole number 0 or more"). A list's items are checked with
    ``item`` (named with ``item_expected``) and read back as floats."""

    name: str
    kind: str  # "settings", "whole", "number" or "losses": the groups WHOLE, NUMBERS and LOSSES are made of
    accepts: Callable[[Any], bool]
    expected: str
    verb: str = "is"  # how the message says the value: "is", or "are" for a plural noun (the settings)
    item: Callable[[Any], bool] | None = None
    item_expected: str = ""


_WHOLE_NUMBER, _NUMBER = "a whole number 0 or more", "a finite number 0 or more"
_POSITION = (  # in the order they are checked: the first that fails is the message
    _Field("settings", "settings", lambda value: isinstance(value, dict), "an object of settings", verb="are"),
    # The next step is batch `batch` of epoch `epoch`; `centers` examples were trained so far.
    *(
        _Field(name, "whole", lambda value: _is_int(value) and value >= 0, _WHOLE_NUMBER)
        for name in ("epoch", "batch", "centers")
    ),
    # The current epoch's summed losses, and over how many examples.
    *(
        _Field(name, "number", lambda value: _is_finite(value) and value >= 0, _NUMBER)
        for name in ("epoch_sum", "epoch_centers")
    ),
    # Every step's mean loss, and every finished epoch's.
    *(
        _Field(
            name,
            "losses",
            lambda value: isinstance(value, list),
            "a list of losses",
            item=_is_finite,
            item_expected="a finite number",
        )
        for name in ("step_losses", "epoch_losses")
    ),
)
WHOLE, NUMBERS, LOSSES = (
    tuple(item.name for item in _POSITION if item.kind == kind) for kind in ("whole", "number", "losses")
)


# -- the arrays: the state's, and their rules ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Sizes:
    """What a table's shape must be, where it is known: its rows (a word's each, or with hierarchical softmax an
    inner node's each in the context table), the embedding size (columns), and the shape of its table (its
    moments have it)."""

    rows: int | None
    columns: int | None
    first: tuple[int, ...] | None
    holder: tuple[str, str] = ("the vocabulary", "word")  # what has a row each, for a message

    @classmethod
    def of(cls, name: str, known: dict, arrays: dict[str, np.ndarray]) -> _Sizes:
        """The sizes of array ``name`` (a table or a moment), given the run's settings ``known`` and the arrays
        read so far."""
        table = name.split("_")[0]
        vocab_size, columns = (
            value if _is_int(value) else None for value in (known.get("vocab_size"), known.get("embed_size"))
        )
        first = arrays[table].shape if table in arrays else None
        if table == TABLES[1] and known.get("objective") == "hierarchical_softmax" and vocab_size is not None:
            return cls(vocab_size - 1, columns, first, ("hierarchical softmax's tree", "inner node"))
        return cls(vocab_size, columns, first)


def _table_header(dtype: np.dtype, shape: tuple, sizes: _Sizes) -> str | None:
    if dtype.kind != "f" or dtype.itemsize != 4:
        return f"is {_describe(dtype, shape)}, not float32"
    if len(shape) != 2:
        return f"is {_describe(dtype, shape)}, not a table (2 dimensions)"
    if sizes.rows is not None and shape[0] != sizes.rows:
        holder, each = sizes.holder
        return f"has {counted(shape[0], 'row')}, but {holder} has {counted(sizes.rows, each)}, one row each"
    if sizes.columns is not None and shape[1] != sizes.columns:
        return f"has {counted(shape[1], 'column')}, but the embedding size is {sizes.columns:,}"
    if sizes.first is not None and shape != sizes.first:
        return f"is of shape {shape}, and its table of shape {sizes.first}"
    return None


def _count_header(dtype: np.dtype, shape: tuple, sizes: _Sizes) -> str | None:
    if dtype.kind not in "iu" or shape != ():
        return f"is {_describe(dtype, shape)}, not a whole number (a 0-d integer array)"
    return None


def _finite_values(name: str, values: np.ndarray) -> str | None:
    if np.isfinite(values).all():
        return None
    bad = int(np.count_nonzero(~np.isfinite(values)))
    return (
        f"its array {name} holds {counted(bad, 'value')} that {agreeing(bad, 'is', 'are')} not finite (NaN or infinity)"
    )


def _not_negative(name: str, values: np.ndarray) -> str | None:
    if not (values < 0).any():
        return None
    return f"its array {name} holds negative values, which Adam's second moments never are"


def _step_not_negative(name: str, values: np.ndarray) -> str | None:
    return f"Adam's step count ({name}) is {int(values)}, below 0" if int(values) < 0 else None


@dataclass(frozen=True)
class _Array:
    """An array of the state: ``header(dtype, shape, sizes)`` says what is wrong with its header (or None),
    before its data is read; each of ``values`` what is wrong with its values, in order; it is then ``dtype``."""

    name: str
    header: Callable[..., str | None]  # (dtype, shape, sizes=...)
    values: tuple[Callable[[str, np.ndarray], str | None], ...]
    dtype: type


_ARRAYS = (  # in the order of KEYS: both tables, their first and second moments (the second never negative), and
    # Adam's step count
    *(
        _Array(
            name,
            _table_header,
            (_finite_values, _not_negative) if name.endswith("_v") else (_finite_values,),
            np.float32,
        )
        for name in KEYS[:-1]
    ),
    _Array("adam_step", _count_header, (_step_not_negative,), np.int64),
)


def save(path: str | Path, state: TrainerState, position: dict) -> Path:
    """Write the trainer's ``state`` and the run's ``position`` to ``path`` atomically."""
    packed = io.BytesIO()  # made in memory: np.savez on a file that fills up leaves a zip whose cleanup raises again
    np.savez(packed, **state.arrays(), position=np.array(json.dumps({**position, "format": FORMAT})))
    # getvalue(), not a view (getbuffer()): a write that fails keeps its frame, and the view in it, alive in the
    # traceback; when the garbage collector then closes the BytesIO, a live view makes that close raise a
    # BufferError ("Exception ignored in: <_io.BytesIO ...>", seen on Python 3.13). getvalue() shares the bytes.
    with atomic_path(path) as temporary:
        temporary.write_bytes(packed.getvalue())
    return Path(path)


def load(
    path: str | Path,
    settings: dict,
    batches_in_epoch: Callable[[int], int] | None = None,
) -> tuple[dict[str, np.ndarray], dict]:
    """The state and position saved at ``path``, after checking the file field by field and that the run's
    ``settings`` (with the corpus facts, :data:`backends.pipeline.corpus.FACTS`) match its own.

    ``batches_in_epoch(epoch)``, when given, is how many batches that epoch has: the saved batch must lie
    within it, and without resampling the saved steps must be exactly the epochs and batches before it.
    """
    path = Path(path)
    if not path.exists():
        raise W2VError(f"there is no checkpoint at {path} to resume from; train with --checkpoint-every N first.")
    readable_file(path, "the checkpoint", FIX)
    checked = _Checked(path)
    with checked.zip() as archive:
        position = checked.position(archive)
        # A setting added after the checkpoint was written is missing from it: every run then had its default.
        defaults = {key: value for key, value in DEFAULTS.to_dict().items() if key in settings}
        recorded = {**defaults, **position["settings"]}
        differ = [
            f"{key} {recorded.get(key)!r} there, {settings.get(key)!r} now"
            for key in MUST_MATCH
            if recorded.get(key) != settings.get(key)
        ]
        if differ:
            raise W2VError(
                f"the checkpoint {path} was trained with other settings or on another corpus "
                f"({'; '.join(differ)}); resume with the same settings and --data, or start over with "
                f"--restart."
            )
        known = {**position["settings"], **settings}
        problem = _across(position, known, batches_in_epoch)
        if problem is not None:
            checked.fail(problem)
        arrays = checked.arrays(archive, known)
    steps = len(position["step_losses"])
    if int(arrays["adam_step"]) != steps:
        checked.fail(
            f"Adam's step count (adam_step) is {int(arrays['adam_step'])}, but the position holds "
            f"{steps} steps (step_losses)"
        )
    return arrays, position


class _Checked:
    """The checks of one checkpoint file, each failing with a sentence that names what is wrong."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, problem: str, word: str = "is damaged") -> NoReturn:
        raise W2VError(f"the checkpoint {self.path} {word}: {problem}. {FIX}")

    def zip(self) -> zipfile.ZipFile:
        path = self.path
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as head:
                if head.read(4) == b"PK\x03\x04":  # a zip's beginning without its end: a copy cut short
                    self.fail(
                        "it begins as a .npz file does, but its end is missing (the file is cut short)", "is truncated"
                    )
            raise W2VError(f"{path} {NOT_A_CHECKPOINT}; it is another kind of file. {FIX}")
        try:
            return zipfile.ZipFile(path)
        except _READ_ERRORS as error:
            self.fail(f"its zip directory cannot be read ({error})")

    # -- the position ---------------------------------------------------------------------------------------
    def position(self, archive: zipfile.ZipFile) -> dict:
        """The position, parsed and checked field by field (not yet against the arrays)."""
        if "position.npy" not in archive.namelist():
            if not any(f"{key}.npy" in archive.namelist() for key in KEYS):
                raise W2VError(
                    f"{self.path} {NOT_A_CHECKPOINT}: it is a zip file without a checkpoint's arrays "
                    f"(it holds {truncated(archive.namelist()) or 'nothing'}). {FIX}"
                )
            self.fail("it holds no position (where the run stood)", "is incomplete")
        text = self._array(
            archive,
            "position",
            lambda dtype, shape: (
                None
                if dtype.kind == "U" and shape == ()
                else f"is {_describe(dtype, shape)}, not a text (a 0-d unicode array)"
            ),
        )
        try:
            position = json.loads(str(text[()]))
        except RecursionError:
            self.fail("its position is not valid JSON (it is nested too deeply)")
        except ValueError as error:
            self.fail(f"its position is not valid JSON ({str(error)[:80]})")
        if not isinstance(position, dict):
            self.fail(f"its position is {_short(position)}, not a JSON object of fields")
        form = position.get("format")
        if form != FORMAT or isinstance(form, bool):
            raise W2VError(
                f"the checkpoint {self.path} has format {_short(form)}, not {FORMAT}: it was written by "
                f"another version of this project and cannot be resumed. {FIX}"
            )
        missing = [item.name for item in _POSITION if item.name not in position]
        if missing:
            self.fail(f"its position has no {', '.join(missing)}", "is incomplete")
        for item in _POSITION:
            value = position[item.name]
            if not item.accepts(value):
                self.fail(f"its position's {item.name} {item.verb} {_short(value)}, not {item.expected}")
            if item.item is not None:
                bad = next((i for i, v in enumerate(value) if not item.item(v)), None)
                if bad is not None:
                    self.fail(
                        f"its position's {item.name} holds {_short(value[bad])} at index {bad}, not "
                        f"{item.item_expected}"
                    )
                position[item.name] = [float(v) for v in value]
        return position

    # -- the arrays -----------------------------------------------------------------------------------------
    def arrays(self, archive: zipfile.ZipFile, known: dict) -> dict[str, np.ndarray]:
        """The state's arrays, each header checked (dtype, shape, size) before its data is read, then the values
        of each."""
        missing = [item.name for item in _ARRAYS if f"{item.name}.npy" not in archive.namelist()]
        if missing:
            self.fail(f"it holds no array {', '.join(missing)}", "is incomplete")
        arrays: dict[str, np.ndarray] = {}
        for item in _ARRAYS:
            sizes = _Sizes.of(item.name, known, arrays)
            arrays[item.name] = self._array(archive, item.name, functools.partial(item.header, sizes=sizes))
        for item in _ARRAYS:
            for rule in item.values:
                problem = rule(item.name, arrays[item.name])
                if problem is not None:
                    self.fail(problem)
            arrays[item.name] = arrays[item.name].astype(item.dtype, copy=False)
        return arrays

    def _array(self, archive: zipfile.ZipFile, name: str, wrong: Callable[[np.dtype, tuple], str | None]) -> np.ndarray:
        """Member ``name``.npy: its header is read and ``wrong(dtype, shape)`` asked (None, or what is wrong)
        before the data, whose size must be the header's, is read."""
        try:
            with archive.open(f"{name}.npy") as member:
                dtype, shape, order, offset = _header(member)
                if not all(_is_int(d) and d >= 0 for d in shape):
                    self.fail(f"its array {name} has the shape {shape!r}")
                problem = wrong(dtype, shape)
                if problem is not None:
                    self.fail(f"its array {name} {problem}")
                size = math.prod(shape) * dtype.itemsize
                stored = archive.getinfo(f"{name}.npy").file_size - offset
                if stored != size:
                    self.fail(
                        f"its array {name} holds {stored:,} bytes of data, but its header says "
                        f"{_describe(dtype, shape)}, which is {size:,} bytes"
                    )
                data = member.read(size)
                if len(data) != size or member.read(1):  # reading to the end checks the zip's CRC too
                    self.fail(f"its array {name} is cut short")
        except _READ_ERRORS as error:
            self.fail(f"its array {name} cannot be read ({str(error)[:120]})")
        return np.frombuffer(data, dtype=dtype).reshape(shape, order=order).copy()


def _across(position: dict, known: dict, batches_in_epoch: Callable[[int], int] | None) -> str | None:
    """What is wrong with the position's fields taken together (against each other, the run's batch size and the
    epoch's batches), the first check that fails deciding, or None; each message names every field its check
    reads. These are the checks one field's rule cannot make."""
    epoch, batch, centers = position["epoch"], position["batch"], position["centers"]
    losses, epoch_sum, epoch_centers = position["step_losses"], position["epoch_sum"], position["epoch_centers"]
    steps = len(losses)
    if len(position["epoch_losses"]) != epoch:
        return (
            f"its position's epoch is {_short(epoch)}, but it holds the losses of "
            f"{counted(len(position['epoch_losses']), 'finished epoch')} (epoch_losses)"
        )
    if batch > steps:
        return f"its position's batch is {_short(batch)}, more than the {steps} steps it holds (step_losses)"
    given = known.get("batch_size")
    size = given if _is_int(given) and given > 0 else None  # each step trains 1 to batch_size examples
    most = steps * size if size else "any number of"
    if centers < steps or (size is not None and centers > steps * size):
        return (
            f"its position's centers is {_short(centers)}, but {steps} steps (step_losses) train between "
            f"{steps} and {most} examples"
        )
    if not batch <= epoch_centers <= min(centers, batch * size if size else centers):
        return (
            f"its position's epoch_centers is {_short(epoch_centers)}, but the epoch's {batch} steps "
            f"(batch) trained between {batch} and {batch * size if size else centers} of the {centers} "
            f"examples (centers)"
        )
    if batch:  # the epoch's summed losses: its steps' mean losses (the last of step_losses), weighted by size
        low, high = min(losses[-batch:]) * epoch_centers, max(losses[-batch:]) * epoch_centers
        if not low - 1e-6 * abs(low) - 1e-9 <= epoch_sum <= high + 1e-6 * abs(high) + 1e-9:
            return (
                f"its position's epoch_sum is {_short(epoch_sum)}, but the epoch's {batch} step losses "
                f"(the last of step_losses) over {epoch_centers:g} examples (epoch_centers) sum to "
                f"between {low:.6g} and {high:.6g}"
            )
    elif epoch_sum != 0:
        return f"its position's epoch_sum is {_short(epoch_sum)} before the epoch's first batch (batch 0)"
    if batches_in_epoch is None:
        return None
    batches = batches_in_epoch(epoch)
    if batch > batches:
        return f"its position's batch is {_short(batch)}, but epoch {epoch} has {batches} batches"
    if not known.get("resample_each_epoch"):
        expected = epoch * batches + batch
        if steps != expected:
            return (
                f"it holds {steps} step losses (step_losses), but epoch {epoch} batch {batch} is "
                f"{expected} steps in, at {batches} batches an epoch"
            )
    return None


def _header(member: IO[bytes]) -> tuple[np.dtype, tuple, Literal["C", "F"], int]:
    """The dtype, shape and order of a .npy stream, and the offset of its data: the header only."""
    version = np.lib.format.read_magic(member)
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in readers:
        raise ValueError(f".npy version {version[0]}.{version[1]}, which checkpoints are never written in")
    shape, fortran, dtype = readers[version](member)
    return dtype, tuple(shape), "F" if fortran else "C", member.tell()


def _describe(dtype: np.dtype, shape: tuple) -> str:
    what = "float32" if dtype.kind == "f" and dtype.itemsize == 4 else str(dtype)
    return f"{what} of shape {shape}" if shape else f"a single {what}"


def _short(value: Any) -> str:
    """A value as a message quotes it: its repr, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
