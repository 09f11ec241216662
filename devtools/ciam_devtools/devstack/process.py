"""Child processes that leave nothing behind: own process group, parent-death signal, and a
stop that escalates from SIGTERM to SIGKILL."""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ciam_devtools.devstack.errors import DevStackError

_PR_SET_PDEATHSIG = 1
READY_TIMEOUT_VARIABLE = "CIAM_READY_TIMEOUT"
DEFAULT_READY_TIMEOUT = 180.0


def ready_timeout() -> float:
    """How long to wait for any one component (a broker, a database, a service) to be ready:
    CIAM_READY_TIMEOUT seconds, generous by default (a loaded machine starts slowly)."""
    raw = os.environ.get(READY_TIMEOUT_VARIABLE, "").strip()
    try:
        return float(raw) if raw else DEFAULT_READY_TIMEOUT
    except ValueError:
        message = f"{READY_TIMEOUT_VARIABLE}={raw!r} is not a number of seconds"
        raise DevStackError(message) from None


def repo_root() -> Path:
    """The repository root: the nearest parent holding `infra/`, from here or the cwd."""
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for parent in (start, *start.parents):
            if (parent / "infra" / "kafka" / "pom.xml").exists():
                return parent
    raise DevStackError("cannot find the repository root (no infra/kafka/pom.xml above here)")


_LOW_PORT = 20000
_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    """The first port the kernel hands to outgoing connections (32768 unless configured)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int = 1) -> int:
    """The first of `count` consecutive ports free now, below the kernel's ephemeral range.

    A port the kernel picks for `bind(0)` comes from the ephemeral range, which every outgoing
    connection (Kafka, PostgreSQL, Redis clients) also draws from: between closing the probe and
    a server binding it, a client connection can take it (CI once failed that way, a webhook
    receiver's port taken). Below that range only listeners are placed; and this process never
    hands out the same port twice."""
    high = _ephemeral_low() - count
    if high <= _LOW_PORT:
        raise DevStackError(f"no room for test ports below the ephemeral range ({high + count})")
    for _ in range(500):
        base = _LOW_PORT + secrets.randbelow(high - _LOW_PORT)
        candidates = range(base, base + count)
        if _handed_out.isdisjoint(candidates) and all(_bindable(p) for p in candidates):
            _handed_out.update(candidates)
            return base
    raise DevStackError(f"no {count} consecutive free ports below the ephemeral range")


def free_port() -> int:
    return free_ports(1)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def require_free(port: int, what: str, variable: str, option: str | None = None) -> None:
    if port_in_use(port):
        alternative = f" (or {option} <port>)" if option else ""
        raise DevStackError(
            f"port {port} for {what} is already in use. Stop whatever listens there "
            f"(`ss -ltnp 'sport = :{port}'`) or choose another port with "
            f"{variable}=<port>{alternative}."
        )


def _child_setup() -> None:
    # Die with the parent (the runner or pytest), even when it is killed with SIGKILL.
    with contextlib.suppress(OSError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.user = user
        self.stop_signal = stop_signal
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                user=self.user,
                start_new_session=True,
                preexec_fn=_child_setup,
            )
        finally:
            log.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def wait_until(
        self, ready: Callable[[], bool], *, timeout: float | None = None, what: str
    ) -> float:
        """Poll `ready` until it holds (at most `timeout`, default CIAM_READY_TIMEOUT); fail
        early, with the log, if the process dies."""
        timeout = ready_timeout() if timeout is None else timeout
        started, last = time.monotonic(), ""
        while time.monotonic() - started < timeout:
            if not self.alive():
                raise DevStackError(
                    f"{self.name} exited while waiting for {what} "
                    f"(log {self.log_path}):\n{self.log_tail()}"
                )
            try:
                if ready():
                    return time.monotonic() - started
            except Exception as exc:  # not ready yet: the last reason goes into the error
                last = str(exc) or repr(exc)
            time.sleep(0.1)
        self.stop()
        answer = f"; last answer: {last}" if last else ""
        raise DevStackError(
            f"{self.name} not ready after {timeout:.0f}s: waited for {what}{answer} "
            f"(raise {READY_TIMEOUT_VARIABLE} on a slow machine; log {self.log_path}):\n"
            f"{self.log_tail()}"
        )

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self._signal_group(self.stop_signal)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(timeout=5)
        # Anything it forked into its group goes too.
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)


def tcp_ready(port: int, host: str = "127.0.0.1") -> Callable[[], bool]:
    return lambda: port_in_use(port, host)


def which_or_fail(candidates: Sequence[str], what: str, fix: str) -> str:
    import shutil

    for candidate in candidates:
        found = shutil.which(candidate) if "/" not in candidate else candidate
        if found and os.access(found, os.X_OK):
            return found
    raise DevStackError(f"{what} not found (looked for {', '.join(candidates)}). {fix}")
