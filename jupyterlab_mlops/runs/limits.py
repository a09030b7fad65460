"""Memory and CPU limits of a run, enforced on its worker and kernel, and what the run used.

A run may carry ``memory`` (``"2GiB"``, parsed by pydantic's ``ByteSize``) and ``cpus``. The
process executing it (a worker, or the CLI itself) applies them for the length of one execution:

* **cgroup v2**, when ``/sys/fs/cgroup`` is a writable unified hierarchy with the ``memory`` and
  ``cpu`` controllers: the process moves into its own cgroup (``memory.max``, no swap,
  ``cpu.max``) before the kernel starts, so the kernel and everything it starts share the limit;
  the kernel's OOM kill is read from ``memory.events``.
* **otherwise** ``RLIMIT_AS`` and CPU affinity, applied to the kernel once it is up (a started
  ipykernel already maps most of a GiB of address space, so the limit is the memory the notebook
  may allocate on top of the started kernel); an allocation past it is a ``MemoryError``.

Usage is measured either way: the peak resident memory of the kernel (the cgroup's
``memory.peak``, else the kernel's ``VmHWM`` and ``getrusage`` of the reaped children) and the
CPU seconds it used.
"""

from __future__ import annotations

import math
import os
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from ..errors import InvalidInput

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: no run gets less: below this a kernel cannot even start
MIN_MEMORY_BYTES = 16 * 1024 * 1024
#: what a run that died for memory says in ``status_reason``
OUT_OF_MEMORY = "out of memory (limit {limit})"
#: exception names that mean the kernel ran out of memory, or died doing so
MEMORY_ERRORS = ("MemoryError", "DeadKernelError")

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def parse_memory(value: Any) -> int | None:
    """``"2GiB"``, ``"512MB"`` or a number of bytes → bytes; None/"" → no limit; else 400."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInput(
            f"memory must be a size like '2GiB', got {value!r}", details={"field": "memory"}
        )
    from pydantic import ByteSize, TypeAdapter, ValidationError  # only when a limit is given

    try:
        size = int(
            TypeAdapter(ByteSize).validate_python(
                value.strip() if isinstance(value, str) else value
            )
        )
    except ValidationError:
        raise InvalidInput(
            f"memory must be a size like '2GiB' or '512MB', got {value!r}",
            details={"field": "memory"},
        ) from None
    if size < MIN_MEMORY_BYTES:
        raise InvalidInput(
            f"memory must be at least {format_bytes(MIN_MEMORY_BYTES)}, got {value!r}",
            details={"field": "memory"},
        )
    return size


def check_cpus(value: Any) -> float | None:
    """A positive number of CPUs (fractions allowed under cgroups); None/0 → no limit."""
    if value is None or value == "" or value == 0:
        return None
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        cpus = math.nan
    if isinstance(value, bool) or not math.isfinite(cpus) or cpus <= 0:
        raise InvalidInput(
            f"cpus must be a positive number, got {value!r}", details={"field": "cpus"}
        )
    return cpus


def format_bytes(size: int | None) -> str:
    """``209715200`` → ``"200 MiB"``; ``1610612736`` → ``"1.5 GiB"``."""
    if size is None:
        return ""
    value, unit = float(size), _UNITS[0]
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            break
        value /= 1024
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"


@dataclass(frozen=True)
class RunLimits:
    """The limits one run executes under (from its record)."""

    memory_bytes: int | None = None
    cpus: float | None = None

    @classmethod
    def of(cls, run: dict[str, Any]) -> RunLimits:
        return cls(run.get("memory_limit_bytes"), run.get("cpus"))

    @property
    def any(self) -> bool:
        return bool(self.memory_bytes or self.cpus)

    def out_of_memory_reason(self) -> str:
        return OUT_OF_MEMORY.format(limit=format_bytes(self.memory_bytes))

    def cpu_list(self, available: list[int]) -> list[int]:
        """The CPUs of an affinity mask: the first ``ceil(cpus)`` of those available."""
        if not self.cpus:
            return available
        return available[: max(1, min(len(available), math.ceil(self.cpus)))]


def check_limits(memory: Any, cpus: Any, defaults: RunLimits) -> RunLimits:
    """The run's limits: those asked for, else the configured defaults (400 naming the field)."""
    memory_bytes = parse_memory(memory)
    cpu_count = check_cpus(cpus)
    return RunLimits(
        memory_bytes if memory_bytes is not None else defaults.memory_bytes,
        cpu_count if cpu_count is not None else defaults.cpus,
    )


class Cgroup:
    """A cgroup v2 of its own for one execution (``mlops-run-<id>``)."""

    def __init__(self, path: Path):
        self.path = path

    @staticmethod
    def available(root: Path = CGROUP_ROOT) -> bool:
        """A unified hierarchy whose children may get ``memory`` and ``cpu`` limits."""
        try:
            enabled = (root / "cgroup.subtree_control").read_text().split()
        except OSError:
            return False
        return {"memory", "cpu"} <= set(enabled) and os.access(root, os.W_OK)

    @classmethod
    def create(cls, name: str, limits: RunLimits, root: Path = CGROUP_ROOT) -> Cgroup | None:
        """Move this process into a new cgroup with the limits; None when that cannot be done."""
        if not cls.available(root):
            return None
        group = cls(root / name)
        try:
            group.path.mkdir(exist_ok=True)
            if limits.memory_bytes:
                group._write("memory.max", str(limits.memory_bytes))
                group._write("memory.swap.max", "0")
            if limits.cpus:
                period = 100_000
                group._write("cpu.max", f"{int(limits.cpus * period)} {period}")
            group._write("cgroup.procs", str(os.getpid()))
        except OSError:
            group.remove()
            return None
        return group

    def _write(self, name: str, value: str) -> None:
        (self.path / name).write_text(value)

    def _stat(self, name: str, key: str) -> int | None:
        try:
            for line in (self.path / name).read_text().splitlines():
                field, _, number = line.partition(" ")
                if field == key:
                    return int(number)
        except (OSError, ValueError):
            return None
        return None

    def oom_killed(self) -> bool:
        return (self._stat("memory.events", "oom_kill") or 0) > 0

    def peak_memory(self) -> int | None:
        try:
            return int((self.path / "memory.peak").read_text())
        except (OSError, ValueError):
            return None

    def cpu_seconds(self) -> float | None:
        usec = self._stat("cpu.stat", "usage_usec")
        return None if usec is None else usec / 1e6

    def remove(self) -> None:
        """Move this process back to the parent cgroup and delete ours."""
        try:
            (self.path.parent / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            pass
        try:
            self.path.rmdir()
        except OSError:
            pass


def _children() -> dict[int, psutil.Process]:
    return {p.pid: p for p in psutil.Process().children()}


def _peak_rss(proc: psutil.Process) -> int:
    """The process's peak resident memory (``VmHWM``), 0 when it is gone."""
    try:
        with open(f"/proc/{proc.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return 0
    return 0


class Enforcement:
    """Limits applied to one execution in this process, and the usage it measures."""

    def __init__(self, limits: RunLimits, name: str, *, kernel_pid: int | None = None):
        self.limits = limits
        self._kernel_pid = kernel_pid  # a kernel started before this execution
        self._earlier_children = set(_children()) - {kernel_pid}
        self._usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cgroup = Cgroup.create(name, limits) if limits.any else None
        self.kernels: list[psutil.Process] = []
        self._peak = 0
        self._kernel_cpu = 0.0

    @property
    def mechanism(self) -> str | None:
        """``"cgroup"``, ``"rlimit"``, or None when the run has no limits."""
        if not self.limits.any:
            return None
        return "cgroup" if self.cgroup is not None else "rlimit"

    def kernel_started(self) -> None:
        """The kernel is up (its first cell starts): find it, limit it unless a cgroup does."""
        if self.kernels:
            return
        self.kernels = [p for pid, p in _children().items() if pid not in self._earlier_children]
        if self.cgroup is not None:
            return
        for kernel in self.kernels:
            try:
                self._limit(kernel)
            except (psutil.Error, OSError):
                pass  # a kernel that is already gone fails the run on its own

    def _limit(self, kernel: psutil.Process) -> None:
        if self.limits.memory_bytes:
            allowed = kernel.memory_info().vms + self.limits.memory_bytes
            kernel.rlimit(psutil.RLIMIT_AS, (allowed, allowed))
        if self.limits.cpus:
            cpus = self.limits.cpu_list(sorted(kernel.cpu_affinity()))
            for thread in kernel.threads():  # affinity is per thread; new ones inherit it
                os.sched_setaffinity(thread.id, cpus)

    def sample(self) -> None:
        """Note the kernel's peak memory and CPU time while it is alive (after each cell)."""
        for kernel in self.kernels:
            self._peak = max(self._peak, _peak_rss(kernel))
            try:
                times = kernel.cpu_times()
                self._kernel_cpu = max(self._kernel_cpu, times.user + times.system)
            except psutil.Error:
                pass

    def out_of_memory(self, ename: str | None) -> bool:
        """Did the execution fail for memory (given the error's exception name)?"""
        if not self.limits.memory_bytes:
            return False
        if self.cgroup is not None and self.cgroup.oom_killed():
            return True
        return ename in MEMORY_ERRORS

    def finish(self) -> dict[str, Any]:
        """``peak_memory_bytes`` and ``cpu_seconds`` of the execution; the cgroup is removed."""
        self.sample()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        before = self._usage_before
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        cpu = max(cpu, self._kernel_cpu)  # a kernel not reaped yet is not in the rusage
        peak = max(self._peak, after.ru_maxrss * 1024)
        if self.cgroup is not None:
            peak = self.cgroup.peak_memory() or peak
            cpu = self.cgroup.cpu_seconds() or cpu
            self.cgroup.remove()
        return {"peak_memory_bytes": int(peak) or None, "cpu_seconds": round(cpu, 3)}
