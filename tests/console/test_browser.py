"""The Console in headless Chromium (Debian's `chromium`, driven by Playwright) against a
real `wallarm-sidecar cloud` process, with hits ingested through the API.

Screenshots of each page go to $WALLARM_SCREENSHOT_DIR, else to the test's tmp dir; the
path is printed. Without chromium or playwright the test skips, except under CI=true,
where it fails (`scripts/install-system-deps test` installs chromium).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.console.conftest import XSS_ATTRIBUTE, XSS_FRAGMENT, cloud_process, record

ADMIN = "wsk_admin-token-for-the-browser-test"


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing, and CI must run the browser test")
    pytest.skip(f"{what} is missing (scripts/install-system-deps test installs chromium)")


@pytest.fixture
def chromium() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package")
    executable = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if executable is None:
        _missing("Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[str]:
    """A `wallarm-sidecar cloud` process on loopback; its base URL."""
    with cloud_process(tmp_path / "data", ADMIN) as base:
        yield base


def api(base: str, method: str, path: str, token: str = ADMIN, **kwargs: Any) -> Any:
    response = httpx.request(
        method, base + "/api/v1" + path, headers={"Authorization": f"Bearer {token}"}, **kwargs
    )
    assert response.status_code < 300, response.text
    return response.json()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("WALLARM_SCREENSHOT_DIR") or tmp_path / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    print(f"\nConsole screenshots: {directory}")
    return directory


def test_the_console_in_chromium(chromium: Any, cloud: str, shots: Path) -> None:
    node = api(cloud, "POST", "/nodes/register", json={"name": "shop-7f9c-x2", "group": "shop"})
    api(cloud, "POST", "/nodes/register", json={"name": "blog-1", "group": "blog"})
    now = time.time()
    records = [
        record(f"p{i}", node="shop-7f9c-x2", when=now - i * 1500, client_ip=f"198.51.100.{i % 3}")
        for i in range(30)
    ]
    records += [
        record("x1", attack_type="xss", fragment=XSS_FRAGMENT, blocked=True, when=now - 600,
               node="shop-7f9c-x2",
               client_ip="203.0.113.66", path="/comment"),
        record("x2", attack_type="xss", fragment=XSS_ATTRIBUTE, point="get_q", blocked=True,
               node="shop-7f9c-x2",
               when=now - 600, client_ip="203.0.113.66", path="/comment"),
        record("s1", attack_type="sqli", fragment="' OR 1=1 --", blocked=True, when=now - 7200,
               client_ip="192.0.2.10", path="/login"),
    ]  # fmt: skip
    stored = api(cloud, "POST", "/hits", node["node_credential"], json={"records": records})
    assert stored == {"stored": 33, "duplicates": 0}

    page = chromium.new_page(viewport={"width": 1360, "height": 900})
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on(
        "dialog", lambda dialog: (problems.append("dialog: " + dialog.message), dialog.dismiss())
    )
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    def click(selector: str) -> None:
        """Click and wait for the page it leads to (every click here navigates)."""
        with page.expect_navigation():
            page.click(selector)

    # Log in (a wrong token first).
    page.goto(cloud + "/attacks")
    assert page.url.startswith(cloud + "/login?next=")
    page.fill("#token", "wsk_wrong")
    click("button[type=submit]")
    assert "Unknown or revoked token" in page.inner_text("[role=alert]")
    page.screenshot(path=str(shots / "01-login.png"), full_page=True)
    assert [p for p in problems if "status of 401" not in p] == []  # that 401 was expected
    problems.clear()
    page.fill("#token", ADMIN)
    click("button[type=submit]")
    assert page.url == cloud + "/attacks"

    # The list, the chart, a filter.
    assert page.locator("#attacks tbody tr").count() == 32  # 30 ptrav 25 min apart, xss, sqli
    assert page.locator("svg.chart rect.monitored").count() >= 10
    # both xss hits share one instant, so one bucket whatever its bounds; sqli has another
    assert page.locator("svg.chart rect.blocked").count() == 2
    assert page.inner_text("#blocked-hits") == "3"
    # DESIGN §1: the attack with its type, request point, node (pod) and node group.
    newest = page.locator("#attacks tbody tr").first.inner_text()
    for shown in ("Path traversal (ptrav)", "uri", "shop-7f9c-x2", "shop"):
        assert shown in newest, shown
    page.screenshot(path=str(shots / "02-attacks.png"), full_page=True)
    page.select_option("select[name=type]", "xss")
    page.select_option("select[name=status]", "blocked")
    click("#filters button[type=submit]")
    assert "type=xss" in page.url and "status=blocked" in page.url
    assert page.locator("#attacks tbody tr").count() == 1
    page.screenshot(path=str(shots / "03-attacks-filtered.png"), full_page=True)

    # The detail: the payloads are shown as text, never run.
    click("#attacks a.type")
    assert "/attacks/" in page.url
    hits = page.inner_text("#hits")
    assert XSS_FRAGMENT in hits and XSS_ATTRIBUTE in hits and "get_q" in hits
    assert "shop-7f9c-x2" in hits and "203.0.113.66" in hits and "930100" in hits
    assert page.locator("#hits img, #hits script").count() == 0
    assert page.evaluate("window.__pwned === undefined")
    page.screenshot(path=str(shots / "04-attack-detail.png"), full_page=True)

    # Deny its source from the detail page, and add an allowlist entry by hand.
    page.select_option("#deny-source select[name=expires]", "7d")
    click("#deny-source button[type=submit]")
    assert page.url.endswith("/ip-lists?done=ip-added")
    assert "203.0.113.66/32" in page.inner_text("#entries")
    page.select_option("#add-ip select[name=list]", "allow")
    page.fill("#add-ip input[name=ip]", "10.0.0.0/8")
    page.fill("#add-ip input[name=application]", "shop")
    page.fill("#add-ip input[name=comment]", "office network")
    click("#add-ip button[type=submit]")
    entries = page.inner_text("#entries")
    assert "10.0.0.0/8" in entries and "office network" in entries
    page.screenshot(path=str(shots / "05-ip-lists.png"), full_page=True)
    deny = [e for e in api(cloud, "GET", "/ip-lists")["items"] if e["list"] == "deny"]
    assert deny[0]["ip"] == "203.0.113.66/32" and deny[0]["expires_at"] > now + 6 * 86400

    # Change the mode: a rule for group shop, then another mode for it.
    click("nav a[href='/settings']")
    page.fill("#add-rule input[name=node_group]", "shop")
    page.select_option("#add-rule select[name=mode]", "block")
    click("#add-rule button[type=submit]")
    assert "The rule is saved" in page.inner_text("[role=status]")
    page.select_option("#rules select[name=mode]", "safe_blocking")
    click("#rules button:has-text('Save')")
    config = api(cloud, "GET", "/nodes/config", node["node_credential"])["node_config"]
    assert config["mode"] == "safe_blocking"
    assert "safe_blocking" in page.inner_text("#effective")
    page.screenshot(path=str(shots / "06-settings.png"), full_page=True)

    # Create a token (its secret shown once), then revoke it.
    click("nav a[href='/tokens']")
    page.select_option("#create-token select[name=usage]", "read-only")
    page.fill("#create-token input[name=name]", "grafana")
    click("#create-token button[type=submit]")
    secret = page.input_value("#new-token")
    assert secret.startswith("wsk_")
    assert api(cloud, "GET", "/attacks", secret)["items"]
    page.screenshot(path=str(shots / "07-token-created.png"), full_page=True)
    page.goto(cloud + "/tokens")
    assert secret not in page.content()
    row = page.locator("#tokens tr", has_text="grafana")
    with page.expect_navigation():
        row.locator("button:has-text('Revoke')").click()
    assert "revoked" in page.locator("#tokens tr", has_text="grafana").inner_text()
    refused = httpx.get(cloud + "/api/v1/attacks", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401
    page.screenshot(path=str(shots / "08-tokens.png"), full_page=True)

    # Nodes by group, with last seen.
    click("nav a[href='/nodes']")
    assert page.locator("section.group h2").all_inner_texts() == ["blog", "shop"]
    assert "shop-7f9c-x2" in page.inner_text("section.group:has(h2:text-is('shop'))")
    assert "ago" in page.inner_text("section.group:has(h2:text-is('shop'))")
    page.screenshot(path=str(shots / "09-nodes.png"), full_page=True)

    # Log out: the pages want a login again.
    click("#logout")
    assert page.url.startswith(cloud + "/login")
    assert "You have logged out." in page.inner_text("[role=status]")
    page.goto(cloud + "/settings")
    assert page.url.startswith(cloud + "/login?next=")
    assert problems == []
