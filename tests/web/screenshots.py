"""`make screenshots`: PNGs of the main pages for docs/ (the browser tests' set-up)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import FilePayload

from tests.web.browser import chromium, demo_server, sign_in

SHOTS = [
    ("sign-in", None, "/app/sign-in"),
    ("manager-unit", "team_manager", "/app/units"),
    ("manager-trend", "head_of_service", "/app/units?trend=1"),
    ("manager-report-card", "head_of_service", "/app/units?card=1"),
    ("supervisor", "team_manager", "/app/supervisees"),
    ("hr-wellbeing", "hr", "/app/wellbeing"),
    ("admin-staff", "admin", "/app/admin/staff"),
    ("admin-import-errors", "admin", "/app/admin/import"),
    ("admin-access-log", "admin", "/app/admin/access-log"),
    ("admin-identity-audit", "admin", "/app/admin/identity-audit"),
]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, demo_server(Path(tmp)) as base, chromium() as b:
        for name, login, path in SHOTS:
            context = b.new_context(viewport={"width": 1100, "height": 900})
            page = context.new_page()
            if login:
                sign_in(page, base, login)
            if path.endswith("?trend=1") or path.endswith("?card=1"):
                page.goto(f"{base}/app/units")
                suffix = "/trend?months=3" if "trend" in path else "/report-card?period=month"
                page.goto(page.url.split("?")[0] + suffix)
            elif name == "admin-import-errors":
                page.goto(f"{base}{path}")
                page.set_input_files(
                    "#file",
                    files=[
                        FilePayload(
                            name="staff.csv",
                            mimeType="text/csv",
                            buffer=b"email,display_name,started_on\n"
                            b"new.person@harbourside.example,New Person,2026-01-05\n"
                            b"not-an-email,Someone,2026-13-01\n",
                        )
                    ],
                )
                page.click("button:has-text('Import staff')")
            else:
                page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            # The sign-in changes are few: the whole page, so its entries show under the form.
            whole = name == "admin-identity-audit"
            page.screenshot(path=str(out / f"{name}.png"), full_page=whole)
            context.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
