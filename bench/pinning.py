"""Pinning a service to one core and the load to the other, and the service's CPU time from
/proc: what the per-core benchmarks share (bench/auth.py, bench/keycloak.py, bench/profile.py).

The service runs on `SERVICE_CPU` (`taskset -c 0` before its interpreter); the benchmark's own
process, and the PostgreSQL, Redis and Kafka it starts, on `LOAD_CPU`."""

from __future__ import annotations

import os
from pathlib import Path

SERVICE_CPU, LOAD_CPU = 0, 1


class ServiceCpu:
    """CPU seconds the service process (all its threads) has used, from /proc/<pid>/task.

    Per request, it is what the service costs whatever else the shared machine runs: 1000 /
    `cpu_ms` is the rate one whole core could sustain. `busy` (CPU time / wall time) below 1
    means the service waited: for its core (other processes on it), or for I/O. Each thread's
    time is read from `schedstat` (nanoseconds) where the kernel keeps it: `stat` counts 10 ms
    ticks, too coarse for a login's event-loop part over a few dozen logins."""

    pid: int | None = None

    @staticmethod
    def _thread_seconds(task: Path) -> float:
        try:
            nanoseconds = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            nanoseconds = 0
        if nanoseconds:
            return nanoseconds / 1e9
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @classmethod
    def _threads(cls, *, main: bool) -> float:
        total = 0.0
        for task in Path(f"/proc/{cls.pid}/task").iterdir():
            if not main and task.name == str(cls.pid):
                continue
            try:
                total += cls._thread_seconds(task)
            except OSError:
                continue  # a thread that ended meanwhile
        return total

    @classmethod
    def seconds(cls) -> float:
        """All the live threads (the service's pools live as long as it does)."""
        return 0.0 if cls.pid is None else cls._threads(main=True)

    @classmethod
    def worker_seconds(cls) -> float:
        """CPU seconds of the service's threads other than the event loop's (the main thread):
        during logins that is the argon2 pool (Python 3.11 does not name OS threads)."""
        return cls._threads(main=False)

    @classmethod
    def figures(cls, cpu_s: float, wall_s: float, ok: int) -> dict[str, float]:
        if cls.pid is None or not ok:
            return {}
        return {"cpu_ms": round(cpu_s * 1000 / ok, 3), "busy": round(cpu_s / wall_s, 2)}


def pin_to_load_cpu() -> bool:
    """Pin this process to the load core before it starts the servers: PostgreSQL, Redis and
    Kafka started from here (ciam_devtools.devstack) inherit the pinning, so the service's core
    does only the service's work. Servers the environment names (DATABASE_URL, REDIS_URL,
    KAFKA_BOOTSTRAP_SERVERS) or containers are not ours and stay where they are."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {LOAD_CPU})
        return True
    return False


def server_cpus() -> dict[str, list[int]]:
    """The CPUs each child process of this one (the servers it started) may run on."""
    found: dict[str, list[int]] = {}
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().rsplit(")", 1)
            if rest.split()[1] == me:
                pid = int(stat.parent.name)
                found[name.split("(", 1)[1]] = sorted(os.sched_getaffinity(pid))
        except (OSError, IndexError, ValueError):
            continue
    return found
