"""Processes for the bench: start pinned to a core, wait until up, stop; read CPU time,
RSS and open file descriptors from /proc; run a load generator and collect its CPU."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields from 3 (state) on


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields:
                parents.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of ``pids`` (all their threads), in seconds."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / CLK_TCK


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pids: list[int]) -> float:
    return sum(_status_kb(p, "VmRSS") for p in pids) / 1024


def peak_rss_mb(pids: list[int]) -> float:
    return sum(_status_kb(p, "VmHWM") for p in pids) / 1024


def fd_count(pids: list[int]) -> int:
    n = 0
    for pid in pids:
        try:
            n += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            pass
    return n


def http_up(url: str, timeout: float = 1.0) -> bool:
    """True once anything answers HTTP at ``url`` (any status)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            r.read()
        return True
    except urllib.error.HTTPError:
        return True
    except (OSError, urllib.error.URLError):
        return False


def http_json(url: str, data: bytes | None = None, timeout: float = 5.0) -> object:
    import json

    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


class Server:
    """One process we start (pinned with taskset), and only ever stop by its own id."""

    def __init__(self, name: str, cmd: list[str], *, core: str, health_url: str, log: Path,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name, self.cmd, self.core, self.health_url, self.log = name, cmd, core, health_url, log
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_s: float | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def pids(self) -> list[int]:
        return descendants(self.pid) if self.proc and self.proc.poll() is None else []

    def start(self, timeout: float = 120.0) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab")
        t0 = time.monotonic()
        # taskset execs the command: the pid we hold is the server's own.
        self.proc = subprocess.Popen(["taskset", "-c", self.core, *self.cmd], stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=self.env, cwd=self.cwd, start_new_session=True)
        out.close()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} during start-up; "
                                   f"log tail:\n{tail(self.log)}")
            if http_up(self.health_url):
                self.startup_s = time.monotonic() - t0
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {self.health_url} within {timeout:g}s; "
                           f"log tail:\n{tail(self.log)}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: only what we started
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run_measured(cmd: list[str], timeout: float) -> tuple[str, str, int, float]:
    """Run ``cmd``; returns stdout, stderr, exit code and its CPU seconds (user + sys)."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        assert proc.stdout is not None
        out = proc.stdout.read()  # the generators print once, at the end
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return (out.decode(errors="replace"), err.read().decode(errors="replace"),
                proc.returncode, usage.ru_utime + usage.ru_stime)


def machine_busy_seconds() -> float:
    """user + nice + system time of every CPU (no idle, iowait, irq, softirq or steal)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return (int(fields[1]) + int(fields[2]) + int(fields[3])) / CLK_TCK


def self_cpu_seconds() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def foreign_load(ours: list[int], window: float = 1.0) -> float:
    """Cores used by processes other than ``ours`` and this one, over ``window`` seconds."""
    m0, o0, s0 = machine_busy_seconds(), cpu_seconds(ours), self_cpu_seconds()
    time.sleep(window)
    m1, o1, s1 = machine_busy_seconds(), cpu_seconds(ours), self_cpu_seconds()
    return max(0.0, (m1 - m0) - (o1 - o0) - (s1 - s0)) / window


def wait_machine_quiet(ours: list[int], threshold: float = 0.05, limit: float = 180.0) -> tuple[float, float]:
    """Wait (up to ``limit`` s) until other processes on the machine use under ``threshold`` of a
    core: others share this machine. Returns (seconds waited, the last foreign load seen)."""
    t0 = time.monotonic()
    load = foreign_load(ours, 0.5)
    while load > threshold and time.monotonic() - t0 < limit:
        load = foreign_load(ours, 1.0)
    return time.monotonic() - t0, load


def wait_quiet(pids: list[int], threshold: float = 0.05, window: float = 0.5, limit: float = 30.0) -> float:
    """Wait until ``pids`` use under ``threshold`` of a core (a backlog has drained)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        c0 = cpu_seconds(pids)
        time.sleep(window)
        if (cpu_seconds(pids) - c0) / window < threshold:
            break
    return time.monotonic() - t0
