"""Where a backend trains: the ``--device`` request resolved, and the device named the same way everywhere."""

from __future__ import annotations

from backends.common.errors import W2VError
from backends.common.settings import DEVICES


def choose_device(request: str, framework: str, gpu_found: bool, why_not: str = "") -> str:
    """'gpu' or 'cpu' for a ``--device`` request of auto, cpu or gpu; a GPU asked for but absent is an error."""
    if request not in DEVICES:
        raise W2VError(f"unknown device {request!r}; choose one of {', '.join(DEVICES)}.")
    if request == "cpu" or (request == "auto" and not gpu_found):
        return "cpu"
    if not gpu_found:
        raise W2VError(
            f"a GPU was asked for, but {framework} sees none{f' ({why_not})' if why_not else ''}. "
            f"Use --device cpu (or auto, which falls back to the CPU)."
        )
    return "gpu"


def device_name(kind: str, model: str | None = None) -> str:
    """How progress, histories and summaries name a device: 'cpu', 'gpu', or 'gpu (NVIDIA H200)'."""
    return f"{kind} ({model})" if kind == "gpu" and model else kind
