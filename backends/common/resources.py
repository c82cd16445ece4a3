"""Memory: what a run will need against what the machine has, so that it is refused before it allocates.

A setting typed one digit too long (``--embed-size 100000000``) would otherwise end in NumPy's or a
framework's allocation error, or in the system swapping, after the work before it. The estimates are
the sizes of the largest arrays the step will hold, within a small factor of what is really used.
"""

from __future__ import annotations

import os
from pathlib import Path

from backends.common.errors import W2VError

# The limits `ulimit -v` and `ulimit -d` set, with the line of /proc/self/status that says how much of each the
# process already uses: an allocation beyond them fails however much memory the machine has free.
RLIMITS = {"RLIMIT_AS": "VmSize:", "RLIMIT_DATA": "VmData:"}


def _process_limits() -> list[int]:
    """What this process may still allocate under its resource limits (RLIMIT_AS, RLIMIT_DATA) where they are
    set: each limit less what the process already uses of it."""
    try:
        import resource

        status = Path("/proc/self/status").read_text().splitlines()
    except (ImportError, OSError):  # not Linux: no such limits to read
        return []
    left = []
    for name, key in RLIMITS.items():
        limit = resource.getrlimit(getattr(resource, name))[0]
        used = next((int(line.split()[1]) * 1024 for line in status if line.startswith(key)), 0)
        if limit != resource.RLIM_INFINITY:
            left.append(max(limit - used, 0))
    return left


def available_bytes() -> int | None:
    """Memory this process can still use: Linux's MemAvailable (and a container's limit, if lower, and what
    the process's own limits leave), else the machine's physical memory, else None where neither can be read."""
    found = _process_limits()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
        limit, used = (Path("/sys/fs/cgroup", name).read_text().strip() for name in ("memory.max", "memory.current"))
        if limit.isdigit():
            found.append(int(limit) - int(used))
    except (OSError, ValueError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        except (AttributeError, ValueError, OSError):
            return None
    return min(found)


def describe_size(count: float) -> str:
    """A byte count for people: 512 B, 3.2 MiB, 9.8 TiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def check_memory(needed: int, what: str, fix: str) -> None:
    """Refuse ``what`` when it would need more memory than is available; ``fix`` names the setting to change."""
    available = available_bytes()
    if available is not None and needed > available:
        raise W2VError(
            f"{what} would need about {describe_size(needed)} of memory, more than the "
            f"{describe_size(available)} available here; {fix}"
        )
