"""Harbour's pages in a real browser: Debian's Chromium, the demo council, every role.

Each page is checked with axe-core for the WCAG 2.2 A and AA rules (zero violations), each
role's forbidden pages answer 403, HR's XLSX download is read back, and signing in and a
sortable table are used with the keyboard alone. One server and one browser for the module
keep this to about a minute.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, FilePayload, Page

from tests.web.browser import AXE, LOGINS, PASSWORD, chromium, demo_server, sign_in

pytestmark = pytest.mark.slow
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_server(tmp_path_factory.mktemp("demo")) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(10_000)
    p = context.new_page()
    try:
        yield p
    finally:
        context.close()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.2 A/AA violations on the current page (injected over the DevTools
    protocol, so the page's CSP stays as strict as it is in production)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return r.violations.map(v => ({id: v.id, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }""",
        WCAG_TAGS,
    )
    return result


def visit(page: Page, url: str, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None
    assert response.status == status, f"{url}: {response.status}"
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == [], url


def nav(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(".govuk-service-navigation__link").all_inner_texts()]


def test_signed_out_pages_are_accessible_and_pages_need_sign_in(base: str, page: Page) -> None:
    visit(page, f"{base}/app/sign-in")
    visit(page, f"{base}/app/accessibility")
    response = page.goto(f"{base}/")
    assert response is not None
    assert page.url.startswith(f"{base}/app/sign-in?next=%2Fapp")
    page.fill("#email", LOGINS["practitioner"])
    page.fill("#password", "not the password")
    page.click("button:has-text('Sign in')")
    assert page.locator(".govuk-error-summary").is_visible()
    assert "The e-mail address or password is wrong" in page.inner_text(".govuk-error-summary")
    assert axe_violations(page) == []


def test_team_manager_sees_their_unit_supervisees_notes_and_talk_requests(
    base: str, page: Page
) -> None:
    sign_in(page, base, "team_manager")
    assert nav(page) == ["Home", "Supervision", "Supervisees"]
    visit(page, f"{base}/app")
    visit(page, f"{base}/app/units")
    assert page.inner_text("h1") == "Assessment Team"
    unit = page.url.split("?")[0]
    table = page.inner_text("#people-table")
    assert "Overdue by" in table
    assert "On leave" in table
    assert "Review overdue since" in table  # the demo's practitioner whose review is late
    assert "No agreement" in table
    visit(page, f"{unit}?status=agreement_review_overdue&sort=agreement")
    overdue_reviews = page.locator("#people-table tbody td:nth-child(8)").all_inner_texts()
    assert overdue_reviews
    assert all(t.startswith("Review overdue since") for t in overdue_reviews)
    visit(page, f"{unit}?sort=groups&order=desc")
    assert int(page.inner_text("#people-table tbody tr:first-child td:nth-child(5)")) >= 1
    visit(page, f"{unit}?status=overdue&sort=name&order=desc")
    rows = page.locator("#people-table tbody tr").count()
    assert 1 <= rows < 8
    assert all(
        "Overdue" in t
        for t in page.locator("#people-table tbody td:nth-child(2)").all_inner_texts()
    )
    visit(page, f"{unit}/trend")
    assert page.locator("#trend-table tbody tr").count() == 12
    assert page.locator("canvas[role=img]").count() == 1  # the chart drew from the table
    visit(page, f"{unit}/report-card?period=month")
    assert "The month before" in page.inner_text("main")
    visit(page, f"{base}/app/supervisees")
    assert page.locator("#supervisees-table tbody tr").count() >= 1
    visit(page, f"{base}/app/supervisees/notes")
    page.locator("#notes-table tbody a").first.click()
    page.wait_for_url(re.compile(r".*/app/supervisees/notes/[0-9a-f-]{36}$"))
    assert "Shared by" in page.inner_text(".govuk-caption-l")
    assert axe_violations(page) == []
    visit(page, f"{base}/app/supervisees/talk-requests")
    assert page.locator("main table tbody tr").count() >= 1
    # Open one, acknowledge it, close it with an outcome (CSRF-checked forms).
    page.locator("#talk-table tbody a").first.click()
    page.wait_for_url(re.compile(r".*/app/supervisees/talk-requests/[0-9a-f-]{36}$"))
    assert axe_violations(page) == []
    if page.locator("button:has-text('Acknowledge')").count():
        page.click("button:has-text('Acknowledge')")
        assert "You acknowledged this request" in page.inner_text(".govuk-notification-banner")
        assert axe_violations(page) == []
    page.click("button:has-text('Close request')")
    assert "Select how it ended" in page.inner_text(".govuk-error-summary")
    assert axe_violations(page) == []
    page.check("label:has-text('We talked')")
    page.click("button:has-text('Close request')")
    assert "You closed this request" in page.inner_text(".govuk-notification-banner")
    assert "We talked" in page.inner_text(".govuk-summary-list")
    assert axe_violations(page) == []
    for forbidden in ("/app/wellbeing", "/app/admin", "/app/admin/staff"):
        visit(page, f"{base}{forbidden}", status=403)


def test_head_of_service_drills_into_a_team(base: str, page: Page) -> None:
    sign_in(page, base, "head_of_service")
    visit(page, f"{base}/app/units")
    assert page.inner_text("h1") == "Children's Social Care"
    page.locator("table:has(caption:has-text('Units in')) a", has_text="Assessment Team").click()
    page.wait_for_load_state("networkidle")
    assert page.inner_text("h1") == "Assessment Team"
    assert axe_violations(page) == []
    visit(page, f"{base}/app/units/00000000-0000-0000-0000-000000000000", status=404)


def test_director_sees_both_services(base: str, page: Page) -> None:
    sign_in(page, base, "director")
    visit(page, f"{base}/app/units")
    children = page.locator("table:has(caption:has-text('Units in')) tbody tr a").all_inner_texts()
    assert children == ["Children's Social Care", "Early Help"]


def test_hr_sees_wellbeing_with_suppressed_cells_and_downloads_xlsx(
    base: str, page: Page, tmp_path: Path
) -> None:
    sign_in(page, base, "hr")
    assert nav(page) == ["Home", "Supervision", "Wellbeing"]
    visit(page, f"{base}/app/wellbeing")
    table = page.inner_text("#scores-table")
    assert "Not shown" in table
    assert "fewer than 5 people" in table or "not published" in table
    # a published mean with its 95% interval and about how many people
    assert re.search(r"\d+\.\d+ \([\d.]+ to [\d.]+; about \d+ people\)", table)
    visit(page, f"{base}/app/wellbeing?by=role&period=quarter")
    visit(page, f"{base}/app/wellbeing?by=tenure_band&period=month")
    assert page.locator("#participation-table").count() == 1
    visit(page, f"{base}/app/units")  # counts only: no one's name
    assert page.locator("#people-table").count() == 0
    page.goto(f"{base}/app/wellbeing")
    with page.expect_download() as info:
        page.click("a:has-text('Excel workbook')")
    saved = tmp_path / "wellbeing.xlsx"
    info.value.save_as(saved)
    sheet = load_workbook(io.BytesIO(saved.read_bytes())).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "period", "group", "label", "n", "mean", "low", "high", "suppressed", "reason", "k"
    )  # fmt: skip
    hidden = [r for r in rows[1:] if r[7] == "true"]
    shown = [r for r in rows[1:] if r[7] == "false"]
    assert hidden
    assert shown
    assert all(r[3] is None and r[4] is None and r[8] for r in hidden)
    # A mean that rounds to a whole number (15.0) is read back from the workbook as 15.
    assert all(isinstance(r[3], int) and r[3] >= 5 and isinstance(r[4], int | float) for r in shown)
    assert all(float(str(r[5])) <= float(str(r[4])) <= float(str(r[6])) for r in shown)
    for forbidden in ("/app/admin", "/app/supervisees"):
        visit(page, f"{base}{forbidden}", status=403)


def test_admin_walks_every_admin_page(base: str, page: Page) -> None:
    sign_in(page, base, "admin")
    assert nav(page) == ["Home", "Supervision", "Administration"]
    for path in (
        "/app/admin",
        "/app/admin/staff",
        "/app/admin/staff?role=supervisor&sort=email&order=desc",
        "/app/admin/staff/new",
        "/app/admin/units",
        "/app/admin/units/new",
        "/app/admin/policy",
        "/app/admin/access-log",
        "/app/admin/analytics-audit",
        "/app/admin/analytics-audit?endpoint=web_admin_access_log",
        "/app/admin/identity-audit",
        "/app/admin/identity-audit?action=invitation.created&from=1/1/2020",
        "/app/units",
    ):
        visit(page, f"{base}{path}")
    # The access log, filtered by a person and dates, downloaded as the CSV on the page.
    page.goto(f"{base}/app/admin/access-log")
    assert page.locator("#access-table tbody tr").count() >= 1
    grace = page.locator("#person option", has_text="Grace Singh").get_attribute("value")
    page.select_option("#person", value=grace)
    page.fill("#from", "1/1/2020")
    page.click("button:has-text('Apply filters')")
    page.wait_for_url(re.compile(r".*person=.*from=1%2F1%2F2020.*"))
    assert axe_violations(page) == []
    rows = page.locator("#access-table tbody tr").all_inner_texts()
    assert rows
    assert all("Grace Singh" in r for r in rows)
    with page.expect_download() as info:
        page.click("a:has-text('Download these entries as CSV')")
    saved = info.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert saved[0].startswith("at,reader_id,reader_name")
    assert len(saved) == 1 + len(rows)
    page.fill("#to", "31/2/2026")
    page.click("button:has-text('Apply filters')")
    assert "To must be a real date" in page.inner_text(".govuk-error-summary")
    assert axe_violations(page) == []
    page.goto(f"{base}/app/admin/staff?q=grace")
    page.locator("#staff-table tbody a").first.click()
    page.wait_for_url(re.compile(r".*/app/admin/staff/[0-9a-f-]{36}$"))
    page.wait_for_load_state("networkidle")
    assert page.input_value("#display_name") == "Grace Singh"
    assert axe_violations(page) == []
    page.goto(f"{base}/app/admin/units")
    page.locator("#units-table tbody a").first.click()
    page.wait_for_url(re.compile(r".*/app/admin/units/[0-9a-f-]{36}$"))
    assert axe_violations(page) == []
    visit(page, f"{base}/app/admin/import")
    page.set_input_files(
        "#file",
        files=[
            FilePayload(
                name="staff.csv",
                mimeType="text/csv",
                buffer=b"email,display_name,started_on\nnot-an-email,Someone,2026-13-01\n",
            )
        ],
    )
    page.click("button:has-text('Import staff')")
    summary = page.inner_text(".govuk-error-summary")
    assert "Line 2, column email" in summary
    assert "Line 2, column started_on" in summary
    assert page.evaluate("document.activeElement.closest('.govuk-error-summary') !== null")
    assert axe_violations(page) == []
    # An empty name is refused with the GOV.UK error pattern, and nothing is saved.
    page.goto(f"{base}/app/admin/units/new")
    page.click("button:has-text('Add unit')")
    assert "Name" in page.inner_text(".govuk-error-summary")
    assert page.locator("#name-error").is_visible()
    assert axe_violations(page) == []
    visit(page, f"{base}/app/wellbeing", status=403)


def test_practitioner_has_no_oversight_pages(base: str, page: Page) -> None:
    sign_in(page, base, "practitioner")
    assert nav(page) == ["Home"]
    visit(page, f"{base}/app")
    for forbidden in ("/app/units", "/app/supervisees", "/app/wellbeing", "/app/admin"):
        visit(page, f"{base}{forbidden}", status=403)
    page.click("button:has-text('Sign out')")
    assert "You have signed out" in page.inner_text("main")
    page.goto(f"{base}/app")
    assert page.url.startswith(f"{base}/app/sign-in")


def _focus_visible(page: Page) -> bool:
    """The focused element shows the GOV.UK focus state (a yellow background or outline)."""
    style: dict[str, str] = page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                  return {outline: s.outlineStyle, shadow: s.boxShadow, bg: s.backgroundColor}; }"""
    )
    return (
        style["outline"] != "none" or style["shadow"] != "none" or style["bg"] == "rgb(255, 221, 0)"
    )


def _active(page: Page) -> str:
    return str(
        page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")
    )


def test_sign_in_with_the_keyboard_alone(base: str, page: Page) -> None:
    page.goto(f"{base}/app/sign-in")
    page.keyboard.press("Tab")
    assert _active(page) == "Skip to main content"
    assert _focus_visible(page)
    order = []
    for _ in range(8):
        page.keyboard.press("Tab")
        order.append(_active(page))
        assert _focus_visible(page), order[-1]
        if order[-1] == "email":
            break
    assert order[-1] == "email"
    page.keyboard.type(LOGINS["team_manager"])
    page.keyboard.press("Tab")
    assert _active(page) == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    assert _active(page) == "Sign in"
    assert _focus_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/app")


def test_sort_a_table_with_the_keyboard_alone(base: str, page: Page) -> None:
    sign_in(page, base, "admin")
    page.goto(f"{base}/app/admin/staff")
    for _ in range(60):
        page.keyboard.press("Tab")
        if _active(page).startswith("E-mail address"):
            break
    assert _active(page).startswith("E-mail address")
    assert _focus_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*sort=email&order=asc.*"))
    emails = page.locator("#staff-table tbody td:nth-child(2)").all_inner_texts()
    assert emails == sorted(emails)
    assert page.get_attribute("th[aria-sort]", "aria-sort") == "ascending"
