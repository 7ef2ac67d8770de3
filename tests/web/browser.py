"""Debian's Chromium driven by Playwright, and a `harbour serve` over the demo council.

Shared by the browser tests and `make screenshots`. The browser is the system's
(/usr/bin/chromium, installed by `.ci/chromium`); `playwright install` is never run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "harbour-demo-2026"
ROOT = Path(__file__).resolve().parents[2]
HARBOUR = Path(sys.executable).parent / "harbour"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"

# The demo logins (api/demo/people.py) by what they show.
LOGINS = {
    "admin": "amara.adeyemi@harbourside.example",
    "hr": "chloe.owen@harbourside.example",
    "director": "ben.hughes@harbourside.example",
    "head_of_service": "dev.vaughan@harbourside.example",
    "team_manager": "ella.evans@harbourside.example",
    "asye": "femi.lewis@harbourside.example",
    "practitioner": "grace.singh@harbourside.example",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def demo_server(workdir: Path) -> Iterator[str]:
    """`harbour demo` into a fresh SQLite file, then `harbour serve` on a free port."""
    env = {
        **os.environ,
        "HARBOUR_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'demo.db'}",
        "HARBOUR_SCHEDULER": "off",
        "HARBOUR_ENV": "development",
        "HARBOUR_ARGON2_MEMORY_KIB": "64",
        "HARBOUR_ARGON2_TIME_COST": "1",
        "HARBOUR_LOGIN_MAX_FAILURES": "1000",
    }
    for name in ("HARBOUR_SECRET_KEY", "HARBOUR_ENCRYPTION_KEYS"):
        env.pop(name, None)
    subprocess.run([str(HARBOUR), "demo"], env=env, check=True, capture_output=True)
    port = _free_port()
    log = (workdir / "serve.log").open("w")
    server = subprocess.Popen(
        [str(HARBOUR), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError(
                "harbour serve did not start: " + (workdir / "serve.log").read_text()
            )
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Page, base: str, login: str) -> None:
    page.goto(f"{base}/app/sign-in")
    page.fill("#email", LOGINS[login])
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{base}/app")
