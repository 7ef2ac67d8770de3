"""Start, watch and stop real `harbour` processes for end-to-end tests.

Each process runs the venv's `harbour` command in a scratch directory (so no developer `.env`
is read), with an environment cleaned of `HARBOUR_*` and proxy variables and then given the
test's own, and writes its output to a log file that `dump_logs` prints when a test fails.
Waits poll with deadlines; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

import httpx

T = TypeVar("T")
PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def harbour_command() -> list[str]:
    """The `harbour` console script of the running virtualenv."""
    script = Path(sys.executable).with_name("harbour")
    return [str(script)] if script.exists() else [sys.executable, "-m", "api.cli"]


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HARBOUR_") and k.lower() not in PROXY_VARIABLES
    }
    env.update(extra)
    return env


@dataclass
class Process:
    """One running `harbour` subcommand and its log."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    _handle: IO[bytes]
    killed: bool = False

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is handed back."""
        self.killed = True
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, grace: float = 8.0) -> int | None:
        """SIGTERM, then SIGKILL after `grace` seconds; returns the exit code."""
        if self.alive:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._handle.close()
        return self.popen.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Processes:
    """Every process a test started, so one `finally` stops them all."""

    workdir: Path
    env: dict[str, str]
    started: list[Process] = field(default_factory=list)

    def start(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> Process:
        log = self.workdir / f"{name}.log"
        handle = log.open("ab")
        popen = subprocess.Popen(
            [*harbour_command(), *args],
            cwd=self.workdir,
            env=clean_environment({**self.env, **(env or {})}),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(name, popen, log, handle)
        self.started.append(process)
        return process

    def by_pid(self, pid: int) -> Process | None:
        return next((p for p in self.started if p.pid == pid), None)

    def check_alive(self) -> None:
        """Fail at once when a process died that nobody killed."""
        for process in self.started:
            if not process.killed and not process.alive:
                raise AssertionError(
                    f"{process.name} exited with {process.popen.returncode}:\n{process.output()}"
                )

    def stop_all(self) -> None:
        for process in self.started:
            if process.alive:
                process.popen.send_signal(signal.SIGTERM)
        for process in self.started:
            process.stop()

    def dump_logs(self, stream: IO[str] = sys.stderr) -> None:
        for process in self.started:
            stream.write(f"\n----- {process.name} (pid {process.pid}) -----\n")
            stream.write(process.output())


async def eventually(
    check: Callable[[], Awaitable[T | None]],
    *,
    what: str,
    timeout: float,
    processes: Processes | None = None,
    interval: float = 0.1,
) -> T:
    """Poll `check` until it returns something truthy, failing after `timeout` seconds (or as
    soon as a process died unexpectedly)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if processes is not None:
            processes.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(interval)


async def wait_healthy(
    client: httpx.AsyncClient, urls: Iterable[str], processes: Processes, timeout: float = 30.0
) -> None:
    """Wait until every URL answers GET /healthz with 200."""

    async def up(url: str) -> bool:
        try:
            return (await client.get(f"{url}/healthz", timeout=2.0)).status_code == 200
        except httpx.TransportError:
            return False

    for url in urls:
        await eventually(
            functools.partial(up, url),
            what=f"{url}/healthz",
            timeout=timeout,
            processes=processes,
        )
