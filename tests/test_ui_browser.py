"""The compliance UI end to end in a real browser: Playwright driving Debian's Chromium
against the real app served by uvicorn on a loopback port, with reports from real
submissions.

Chromium comes from Debian's package registry, never from a browser download: when
``/usr/bin/chromium`` is missing the suite runs ``apt-get install -y chromium`` itself
(root only; CI runs as root on a fresh Debian machine), else the test is skipped with
the reason. Screenshots and the exported CSV are kept in ``test-artifacts/ui/``
(``ISOGW_TEST_ARTIFACTS`` overrides; the folder is not committed).

Scenario: signing in, filtering, opening a report, waiving a finding with a reason
(the browser refuses an empty reason first), exporting CSV (a download), a screenshot of
the dashboard, and a user of tenant EMEA opening tenant NA's report by URL (404).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from gateway.api.app import create_app
from gateway.kafka import MemoryPublisher
from gateway.pipeline import Gateway
from gateway.settings import Settings
from gateway.store import Store
from gateway.tenants import TenantRegistry
from tests.api_fixtures import make_tenants, post, serving
from tests.conftest import REPO
from tests.web_fixtures import BAD_BIC, BAD_ENUM, MINIMAL, VALID, add_users, unique

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("ISOGW_TEST_ARTIFACTS") or REPO / "test-artifacts" / "ui")


def _apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["apt-get", *args],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed from the package registry when missing (as root)."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(
            f"{CHROMIUM} is missing and installing it needs root and apt-get: "
            "run `apt-get install -y chromium` (Debian's package), then the test"
        )
    run = _apt_get("install", "-y", "chromium")
    if run.returncode != 0:  # a fresh machine may have no package lists yet
        _apt_get("update")
        run = _apt_get("install", "-y", "chromium")
    if run.returncode != 0 or not CHROMIUM.exists():
        pytest.fail(
            f"apt-get install -y chromium failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}"
        )
    return CHROMIUM


@dataclass
class Served:
    base: str
    emea: dict[str, str]  # which report: its id
    na_report: str


@pytest.fixture
def served(tmp_path: Path, gateway: Gateway, settings: Settings) -> Iterator[Served]:
    """The real app on uvicorn (loopback, plain http: cookies without Secure) with
    reports from real submissions through the HTTP API."""
    from gateway.web.settings import ComplianceSettings

    folder, keys = make_tenants(tmp_path, {"EMEA": {"store_payload: false": "store_payload: true"}})
    add_users(folder)
    store = Store(f"sqlite:///{tmp_path / 'ui.db'}")
    app = create_app(
        settings,
        TenantRegistry.load(folder),
        gateway=gateway,
        store=store,
        publisher=MemoryPublisher(),
        compliance=ComplianceSettings(secure_cookies="auto"),
    )
    try:
        with serving(app) as base:
            emea = {}
            for name, payload in (
                ("valid", VALID),
                ("bad_bic", BAD_BIC),
                ("minimal", MINIMAL),
                ("bad_enum", BAD_ENUM),
            ):
                response = post(base, keys["EMEA"], unique(payload))
                assert response.status_code in (202, 422), response.text
                emea[name] = response.json()["report_id"]
            na = post(base, keys["NA"], unique(VALID)).json()["report_id"]
            yield Served(base, emea, na)
    finally:
        store.close()


def test_compliance_review_in_chromium(chromium: Path, served: Served) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base, bad_bic = served.base, served.emea["bad_bic"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            context = browser.new_context(
                accept_downloads=True, viewport={"width": 1280, "height": 900}
            )
            context.set_default_timeout(15_000)
            page = context.new_page()

            # sign in (asked for the report list, sent back to it afterwards)
            page.goto(f"{base}/ui/reports")
            expect(page).to_have_url(f"{base}/ui/login?next=%2Fui%2Freports")
            page.get_by_label("Tenant").select_option("EMEA")
            page.get_by_label("Username").fill("alice")
            page.get_by_label("Password").fill("alice-password-1")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Reports")).to_be_visible()
            expect(page.get_by_test_id("user")).to_have_text("alice · EMEA · compliance")
            rows = page.get_by_test_id("report-list").locator("tbody tr")
            expect(rows).to_have_count(4)

            # filter: rejected reports with the rule business.bic
            page.get_by_label("Outcome").select_option("rejected")
            expect(rows).to_have_count(4)  # nothing changes before the form is sent
            page.get_by_role("button", name="Filter").click()
            expect(rows).to_have_count(2)
            page.get_by_label("Rule code").fill("business.bic")
            page.get_by_role("button", name="Filter").click()
            expect(rows).to_have_count(1)
            assert "outcome=rejected" in page.url and "code=business.bic" in page.url
            page.screenshot(path=ARTIFACTS / "reports.png")

            # open the report: findings by layer, the offending line highlighted
            rows.first.get_by_role("link").click()
            expect(page).to_have_url(f"{base}/ui/reports/{bad_bic}")
            expect(page.locator("h3.layer")).to_have_text(["schema 1", "business 1"])
            expect(page.locator("#line-41")).to_have_class("hit")
            finding = page.locator("#finding-1")
            expect(finding.locator("code").first).to_have_text("business.bic")

            # waive it: an empty reason is refused by the form, then recorded with one
            finding.get_by_label("Review action").select_option("waive")
            finding.get_by_role("button", name="Record").click()
            assert finding.get_by_label("Reason or note").evaluate("e => !e.validity.valid")
            assert page.url.endswith(bad_bic)
            reason = "Bank confirmed the creditor agent BIC by phone (case 4711)"
            finding.get_by_label("Reason or note").fill(reason)
            finding.get_by_role("button", name="Record").click()
            expect(page).to_have_url(f"{base}/ui/reports/{bad_bic}#finding-1")
            expect(finding.get_by_test_id("status")).to_have_text("waive")
            expect(finding.locator("ol.history")).to_contain_text(reason)
            expect(finding.locator("ol.history")).to_contain_text("alice@EMEA (compliance)")
            page.screenshot(path=ARTIFACTS / "report.png", full_page=True)

            # export the filtered list as CSV (a download)
            page.go_back()
            page.go_back()
            expect(rows).to_have_count(1)
            with page.expect_download() as info:
                page.get_by_role("link", name="CSV").click()
            download = info.value
            saved = ARTIFACTS / download.suggested_filename
            download.save_as(saved)
            assert download.suggested_filename.startswith("reports-EMEA-")
            with saved.open(encoding="utf-8-sig") as handle:
                exported = list(csv.DictReader(handle))
            assert [(r["report_id"], r["code"], r["review_action"]) for r in exported] == [
                (bad_bic, "schema.pattern", ""),
                (bad_bic, "business.bic", "waive"),
            ]
            assert exported[1]["review_text"] == reason

            # the dashboard, kept as a screenshot
            page.get_by_role("link", name="Dashboard").click()
            expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
            expect(page.get_by_test_id("volume-chart").locator("svg rect").first).to_be_visible()
            expect(page.get_by_test_id("totals")).to_contain_text("4 reports")
            shot = ARTIFACTS / "dashboard.png"
            page.screenshot(path=shot, full_page=True)
            assert shot.stat().st_size > 10_000
            print(f"\ndashboard screenshot: {shot}")

            # tenant NA's report by URL: exactly like a missing one
            response = page.goto(f"{base}/ui/reports/{served.na_report}")
            assert response is not None and response.status == 404
            expect(page.get_by_role("heading", name="Not found")).to_be_visible()
            missing = page.goto(f"{base}/ui/reports/00000000-0000-4000-8000-000000000000")
            assert missing is not None and missing.status == 404

            # sign out: the session ends on the server
            page.get_by_role("button", name="Sign out").click()
            expect(page).to_have_url(f"{base}/ui/login")
            page.goto(f"{base}/ui/dashboard")
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            context.close()
        finally:
            browser.close()
    cookies = httpx2.get(f"{base}/ui/login").headers.get("set-cookie", "")
    assert "HttpOnly" in cookies and "Secure" not in cookies  # plain http: auto means no Secure
