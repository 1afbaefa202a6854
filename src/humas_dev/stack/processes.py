"""The stack's components as process groups: start one with its pid file and log, tell which are running,
stop whole groups (so nothing lingers), and count their memory."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil

from humas_dev.stack.config import POSTGRES_OS_USER, REPO, StackConfig


def _db_os_user() -> dict[str, object]:
    """Popen arguments that run PostgreSQL as its own user when we are root (it refuses to run as root)."""
    return {"user": POSTGRES_OS_USER, "group": POSTGRES_OS_USER} if os.geteuid() == 0 else {}


def _pid_file(cfg: StackConfig, name: str) -> Path:
    return cfg.home / "run" / f"{name}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def running(cfg: StackConfig) -> dict[str, int]:
    """Components with a live process, by name: every pid file, whatever the executor it was started with."""
    found = {}
    for path in sorted((cfg.home / "run").glob("*.pid")):
        text = path.read_text().strip()
        if text.isdigit() and _alive(int(text)):
            found[path.stem] = int(text)
    return found


def _start(cfg: StackConfig, name: str, command: list[str], env: dict[str, str]) -> None:
    (cfg.home / "run").mkdir(parents=True, exist_ok=True)
    (cfg.home / "logs").mkdir(parents=True, exist_ok=True)
    log = open(cfg.home / "logs" / f"{name}.log", "ab")
    as_user = _db_os_user() if name == "postgres" else {}
    proc = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True, cwd=str(REPO),
                            **as_user)  # type: ignore[call-overload]
    _pid_file(cfg, name).write_text(str(proc.pid))


def _wait_port(port: int, name: str, timeout: float, cfg: StackConfig) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if name not in running(cfg):
            break
        time.sleep(0.3)
    raise RuntimeError(f"{name} did not start on port {port}; see {cfg.home / 'logs' / (name + '.log')}")


def _stop_groups(pgids: list[int], grace: float) -> None:
    for pid in pgids:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_group_alive(pid) for pid in pgids):
        time.sleep(0.3)
    for pid in pgids:
        _signal_group(pid, signal.SIGKILL)


def leftovers(pgids: list[int]) -> list[int]:
    """The process groups among ``pgids`` that still have a live process."""
    return [pgid for pgid in pgids if _group_alive(pgid)]


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (a zombie waiting to be reaped does not count)."""
    _reap(pgid)
    for proc in psutil.process_iter(["pid", "status"]):
        if proc.info["status"] != psutil.STATUS_ZOMBIE and _pgid(proc.pid) == pgid:
            return True
    return False


def _reap(pid: int) -> None:
    """Collect the exit status of a component this process started itself (else it lingers as a zombie)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def component_processes(pid: int) -> list[psutil.Process]:
    """A component's processes: its process group, and its leader's descendants (PostgreSQL's backends each
    start a session of their own)."""
    found = {p.pid: p for p in psutil.process_iter(["pid"]) if _pgid(p.pid) == pid}
    try:
        found.update((p.pid, p) for p in psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        pass
    return list(found.values())


def stack_memory_mb(cfg: StackConfig) -> dict[str, float]:
    """Resident memory of each component, in MB."""
    usage = {}
    for name, pid in running(cfg).items():
        total = 0
        for proc in component_processes(pid):
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        usage[name] = total / 2**20
    return usage


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
