"""The HTML reports opened in a real headless Chromium (Debian's ``chromium``), driven over the DevTools protocol.

Checks what a reader would notice: the page loads with no console error, fetches nothing from the network (the
file is self-contained), shows the butterfly figure, fits a phone's width, and a ``<script>`` in a ticket subject
stays text. A screenshot of each page is saved. Without Chromium the tests skip on a developer machine and FAIL
under CI (``CI=true``), where ``.ci/run`` installs it.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from test_report_golden import NOW, WEEK, make_dataset

pytestmark = pytest.mark.slow
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")  # read before the fixtures clear it
XSS = "<script>alert(1)</script>"
ROOT = Path(__file__).resolve().parent.parent


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    message = "headless Chromium not installed (apt-get install chromium)"
    if IN_CI:
        pytest.fail(message + " — required under CI")
    pytest.skip(message)


class Browser:
    """A headless Chromium on ``--remote-debugging-pipe`` (fd 3 in, fd 4 out, NUL-separated JSON)."""

    def __init__(self, profile: Path) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()
        # move the child's ends above 9 so that placing them at fd 3 and 4 cannot clobber one another
        self._cmd_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD_CLOEXEC, 10)
        self._res_w = fcntl.fcntl(res_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(cmd_r)
        os.close(res_w)
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            "about:blank",
        ]
        # bash (dash takes one-digit fds only) just moves the two pipe ends to fd 3 and 4; every argument is passed as is ("$@")
        script = f'exec "$0" "$@" 3<&{self._cmd_r} 4>&{self._res_w} {self._cmd_r}<&- {self._res_w}>&-'
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", script, _chromium(), *args],
            pass_fds=(self._cmd_r, self._res_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(self._cmd_r)
        os.close(self._res_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._res_r], [], [], left)
            if not ready:
                return None
            chunk = os.read(self._res_r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._cmd_w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            reply = self._read(deadline - time.monotonic())
            if reply is None:
                break
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)
        raise TimeoutError(f"no reply to {method}")

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = self._read(deadline - time.monotonic())
            if event is None:
                break
            self.events.append(event)
            if event.get("method") == method:
                return event
        raise TimeoutError(f"no {method} event")

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            event = self._read(deadline - time.monotonic())
            if event is None:
                return
            self.events.append(event)

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._res_r)


def open_page(browser: Browser, path: Path, *, width: int, height: int, mobile: bool) -> tuple[str, dict[str, Any]]:
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(f"{domain}.enable", session=session)
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        session=session,
    )
    browser.events.clear()
    browser.send("Page.navigate", {"url": path.as_uri()}, session=session)
    browser.wait_for("Page.loadEventFired")
    browser.drain(0.5)

    def evaluate(expression: str) -> Any:
        result = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
        return result["result"].get("value")

    facts = {
        "figures": evaluate("document.querySelectorAll('svg[data-figure=butterfly]').length"),
        "figure_cells": evaluate("document.querySelectorAll('svg[data-figure=butterfly] g.cell').length"),
        "scripts": evaluate("document.scripts.length"),
        "text": evaluate("document.body.innerText"),
        "overflow": evaluate("document.documentElement.scrollWidth - window.innerWidth"),
        "title": evaluate("document.title"),
    }
    return session, facts


def problems(browser: Browser, page: Path) -> tuple[list[str], list[str]]:
    """Console errors and network requests (anything but the page itself) seen since navigation."""
    errors, requests = [], []
    for event in browser.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(json.dumps(params.get("args")))
        elif method == "Runtime.exceptionThrown":
            errors.append(json.dumps(params.get("exceptionDetails")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if url != page.as_uri() and not url.startswith("data:"):
                requests.append(url)
    return errors, requests


def screenshot(browser: Browser, session: str, target: Path) -> Path:
    data = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session)
    target.write_bytes(base64.b64decode(data["data"]))
    return target


@pytest.fixture
def browser(tmp_path: Path):  # type: ignore[no-untyped-def]
    b = Browser(tmp_path / "profile")
    yield b
    b.close()


@pytest.fixture
def pages(tmp_path: Path, sqlite_url_fixture: str) -> dict[str, Path]:
    """The ticket and weekly reports of the golden dataset (plus a hostile subject) as HTML files."""
    from butterfly.files import write_private
    from butterfly.labels import labels
    from butterfly.reports.rendering import render_report
    from butterfly.reports.ticket_report import build_ticket_report
    from butterfly.reports.weekly.build import build_weekly_report
    from butterfly.store.db import open_session
    from butterfly.tickets import get_ticket

    out = {}
    with open_session(sqlite_url_fixture) as session:
        make_dataset(session)
        t1 = get_ticket(session=session, ref="T-1")
        t1.subject = XSS + " SMS verification code never arrives"
        t1.description = '<img src="https://example.com/x.png" onerror="alert(2)"> [x](javascript:alert(3))'
        session.add(t1)
        session.commit()
        for lang in ("en", "zh-CN"):
            texts = labels(lang)
            ticket = build_ticket_report(
                session=session, ticket=get_ticket(session=session, ref="T-1"), lang=lang, labels=texts, now=NOW
            )
            html = render_report("ticket", ticket, fmt="html", labels=texts, lang=lang, tz="UTC")
            out[f"ticket.{lang}"] = write_private(tmp_path / f"ticket.{lang}.html", html)
        weekly = build_weekly_report(session=session, week=WEEK, now=NOW)
        html = render_report("weekly", weekly, fmt="html", labels=labels("en"), lang="en", tz="UTC")
        out["weekly.en"] = write_private(tmp_path / "weekly.en.html", html)
    return out


def _keep(shot: Path) -> None:
    """Screenshots also go to out/screenshots/ (git-ignored) so a person can look at them after the run."""
    folder = ROOT / "out" / "screenshots"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, folder / shot.name)
    except OSError:
        pass


@pytest.mark.parametrize("name", ["ticket.en", "ticket.zh-CN", "weekly.en"])
@pytest.mark.parametrize(
    ("device", "width", "height", "mobile"), [("desktop", 1200, 900, False), ("phone", 390, 844, True)]
)
def test_report_opens_cleanly_in_chromium(
    browser: Browser,
    pages: dict[str, Path],
    tmp_path: Path,
    name: str,
    device: str,
    width: int,
    height: int,
    mobile: bool,
) -> None:
    page = pages[name]
    session, facts = open_page(browser, page, width=width, height=height, mobile=mobile)
    errors, requests = problems(browser, page)
    shot = screenshot(browser, session, tmp_path / f"{name}.{device}.png")
    _keep(shot)
    assert errors == [], errors
    assert requests == [], requests
    assert facts["scripts"] == 0
    assert facts["overflow"] <= 0, f"page is {facts['overflow']}px wider than a {width}px screen"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    if name.startswith("ticket"):
        assert facts["figures"] == 2  # two reviewers side by side
        assert facts["figure_cells"] == 12
        # the hostile subject is shown as text, not run
        assert XSS in facts["text"]
        assert "javascript:alert(3)" in facts["text"]
    else:
        assert "SMS verification code never arrives" in facts["text"]


# -- layout a reader notices (#16): every column on paper, no one-letter columns on a phone -------------------------

LONG_TOKEN = "x" * 500
# one-word cells (ids, dates, numbers, statuses, headings of one word) whose word was broken over lines, and the
# narrowest free-text cell
_BROKEN_WORDS = """(() => [...document.querySelectorAll('td:not(.text), th')]
  .filter(c => /^([\\x21-\\x7e]{2,}|[\\u3400-\\u9fff]{2,4})$/.test(c.innerText.trim()))
  .filter(c => { const w = document.createTreeWalker(c, NodeFilter.SHOW_TEXT); const tops = new Set();
    while (w.nextNode()) { const r = document.createRange(); r.selectNodeContents(w.currentNode);
      for (const x of r.getClientRects()) if (x.width > 0) tops.add(Math.round(x.top)); }
    return tops.size > 1; })
  .map(c => c.innerText.trim().slice(0, 30)))()"""
_WIDE_TABLES = """[...document.querySelectorAll('table')].filter(t => t.getBoundingClientRect().right >
  document.documentElement.clientWidth).map(t => t.innerText.slice(0, 60))"""
_NARROWEST_TEXT = """Math.min(9999, ...[...document.querySelectorAll('td.text')]
  .map(c => Math.round(c.getBoundingClientRect().width)))"""
_WIDEST_TABLE = """(() => Math.max(0, ...[...document.querySelectorAll('table')]
  .map(t => Math.round(t.getBoundingClientRect().right - document.documentElement.clientWidth))))()"""


@pytest.fixture
def layout_pages(tmp_path: Path, sqlite_url_fixture: str) -> dict[str, Path]:
    """The weekly, consistency and ticket reports of the golden dataset, one action item carrying a 500-character
    token, as HTML files."""
    from sqlmodel import select

    from butterfly.files import write_private
    from butterfly.labels import labels
    from butterfly.reports.consistency import consistency, render_consistency
    from butterfly.reports.rendering import render_report
    from butterfly.reports.ticket_report import build_ticket_report
    from butterfly.reports.weekly.build import build_weekly_report
    from butterfly.store.db import open_session
    from butterfly.store.models import ActionItem
    from butterfly.tickets import get_ticket

    out = {}
    with open_session(sqlite_url_fixture) as session:
        make_dataset(session)
        item = session.exec(select(ActionItem)).first()
        assert item is not None
        item.text = "Fall back " + LONG_TOKEN
        session.add(item)
        session.commit()
        for lang in ("en", "zh-CN"):
            texts = labels(lang)
            ticket = build_ticket_report(
                session=session, ticket=get_ticket(session=session, ref="T-1"), lang=lang, labels=texts, now=NOW
            )
            out[f"ticket.{lang}"] = write_private(
                tmp_path / f"ticket.{lang}.html",
                render_report("ticket", ticket, fmt="html", labels=texts, lang=lang, tz="UTC"),
            )
            weekly = build_weekly_report(session=session, week=WEEK, now=NOW, lang=lang)
            out[f"weekly.{lang}"] = write_private(
                tmp_path / f"weekly.{lang}.html",
                render_report("weekly", weekly, fmt="html", labels=texts, lang=lang, tz="UTC"),
            )
        report = consistency(session=session, by="assignee", weeks=8, end=NOW, min_tickets=1, language="en")
        out["consistency.en"] = write_private(tmp_path / "consistency.en.html", render_consistency(report, fmt="html"))
    return out


def _pdf_text(browser: Browser, session: str, target: Path) -> str:
    data = browser.send("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69}, session=session)
    target.write_bytes(base64.b64decode(data["data"]))
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        if IN_CI:
            pytest.fail("pdftotext not installed (apt-get install poppler-utils) — required under CI")
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    return subprocess.run([pdftotext, "-layout", str(target), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("name", ["weekly.en", "weekly.zh-CN", "ticket.en", "ticket.zh-CN", "consistency.en"])
def test_layout_on_a_phone_and_on_paper(
    browser: Browser, layout_pages: dict[str, Path], tmp_path: Path, name: str
) -> None:
    page = layout_pages[name]
    session, _ = open_page(browser, page, width=390, height=844, mobile=True)

    def evaluate(expression: str) -> Any:
        result = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
        return result["result"].get("value")

    _keep(screenshot(browser, session, tmp_path / f"{name}.layout-phone.png"))
    assert evaluate(_BROKEN_WORDS) == [], "one-word cells broken over lines at 390 px"
    assert evaluate(_NARROWEST_TEXT) >= 80, "free-text column squeezed at 390 px"
    if name.startswith("ticket"):
        # ids, dates, statuses and owners never break: the Due date stays on one line next to a 500-char token
        evaluate("document.body.style.width = '1280px'")
        heights = evaluate(
            "[...document.querySelectorAll('td.nb')].filter(c => /^\\d{4}-\\d{2}-\\d{2}$/.test(c.innerText.trim()))"
            ".map(c => { const r = document.createRange(); r.selectNodeContents(c);"
            " return new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top))).size; })"
        )
        assert heights and max(heights) == 1, heights  # one line each
        evaluate("document.body.style.width = ''")
    if not name.startswith("consistency"):
        # on a laptop no table of the ticket or weekly report needs a sideways scroll
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        scrolled = evaluate(
            "[...document.querySelectorAll('.table-wrap')].filter(w => w.scrollWidth > w.clientWidth + 1)"
            ".map(w => w.innerText.slice(0, 60))"
        )
        assert scrolled == [], scrolled
    # on paper (A4, 15 mm margins): no table wider than the page, and every column's heading in the PDF text
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": 680, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    browser.send("Emulation.setEmulatedMedia", {"media": "print"}, session=session)
    assert evaluate(_WIDEST_TABLE) <= 0, evaluate(_WIDE_TABLES)
    headings = evaluate("[...document.querySelectorAll('h2, h3, h4')].map(h => h.innerText.trim())")
    text = _pdf_text(browser, session, tmp_path / f"{name}.pdf")
    # no heading left alone at the foot of a page
    for number, page_text in enumerate(text.split("\f")[:-1], start=1):
        lines = [line.strip() for line in page_text.splitlines() if line.strip()]
        assert not lines or lines[-1] not in headings, f"page {number} ends with the heading {lines[-1]!r}"
    if name == "consistency.en":
        assert "Flag" in text, text
    if name.startswith("weekly"):
        assert text.index("Summary" if name.endswith("en") else "摘要") < text.index(
            "Recurring problems" if name.endswith("en") else "重复出现的问题",
            text.index("Summary" if name.endswith("en") else "摘要"),
        )


def test_consistency_pdf_starts_its_groups_table_on_page_one(
    browser: Browser, sqlite_url_fixture: str, tmp_path: Path
) -> None:
    """#16: the Groups table of a team with many groups used to jump whole to page 2 (it could not break),
    leaving page 1 two-thirds blank. Page 1 holds the table's heading and its first rows, and is well filled."""
    from datetime import timedelta

    from butterfly.files import write_private
    from butterfly.reports.consistency import consistency, render_consistency
    from butterfly.store.db import open_session
    from butterfly.store.models import Ticket

    with open_session(sqlite_url_fixture) as session:
        for n in range(45 * 4):  # 45 assignment groups of 4 resolved tickets each
            resolved = NOW - timedelta(days=1 + n % 20)
            session.add(
                Ticket(
                    source="demo",
                    external_id=f"G-{n:04d}",
                    group_name=f"Team{n % 45:02d}",  # one word: pdftotext keeps it on one line
                    channel="email",
                    created_at=resolved - timedelta(hours=2 + n % 7),
                    resolved_at=resolved,
                    content_hash=f"{n:064d}",
                )
            )
        session.commit()
        report = consistency(session=session, by="group", weeks=8, end=NOW, min_tickets=1, language="en")
    names = [g.name for g in report.groups]
    assert len(names) == 45
    page = write_private(tmp_path / "consistency.html", render_consistency(report, fmt="html"))
    session_id, _ = open_page(browser, page, width=1280, height=900, mobile=False)
    browser.send("Emulation.setEmulatedMedia", {"media": "print"}, session=session_id)
    pages = _pdf_text(browser, session_id, tmp_path / "consistency.pdf").split("\f")
    first = pages[0]
    assert len(pages) >= 3, "45 groups do not fit on two pages"
    # the table starts on page 1 with its first rows; it does not wait for page 2
    assert sum(name in first for name in names[:5]) == 5, first
    filled = [len([line for line in p.splitlines() if line.strip()]) for p in pages[:2]]
    assert filled[0] >= 0.6 * filled[1], filled  # page 1 about as full as page 2, not two-thirds blank
