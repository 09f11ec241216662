"""A real browser for the page tests: Playwright driving the system's Chromium.

The machine's Chromium comes from Debian (`/usr/bin/chromium`, installed by `make setup`);
Playwright's own browser download is not reachable, so the browser is always launched by its
path (`CIAM_CHROMIUM` names another). The flags keep Chromium off the network it would
otherwise call at start (updates, sync, safe browsing): this machine refuses those connections.

Accessibility is checked with axe-core, pinned by tests/browser/package.json and injected into
the page under test. Screenshots go to `CIAM_SCREENSHOTS` when set (`make screenshots` points it
at docs/services/screenshots), else nowhere.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parents[3]
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"

CHROMIUM_FLAGS = [
    "--no-sandbox",  # the tests run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
]

# The two widths every page is checked at: a desktop and a small phone.
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}


def chromium_path() -> str:
    path = os.environ.get("CIAM_CHROMIUM", "/usr/bin/chromium")
    if not Path(path).exists():
        raise RuntimeError(
            f"no Chromium at {path}: `make setup` installs Debian's chromium "
            "(or set CIAM_CHROMIUM to a Chromium binary)"
        )
    return path


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium, closed on exit. Playwright gives it a fresh temporary profile
    (--user-data-dir), so nothing carries over between tests."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: list[str]

    def __str__(self) -> str:
        return f"{self.impact} {self.rule}: {self.help} at {', '.join(self.targets)}"


async def axe_violations(
    page: Page, impacts: tuple[str, ...] = ("serious", "critical")
) -> list[Violation]:
    """The page's accessibility violations of the given impacts, by axe-core (WCAG 2.x A/AA)."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: `make setup` installs it (npm ci in tests/browser)")
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated over the DevTools protocol, which the page's CSP does not govern: a script
        # tag would be refused by auth's `default-src 'none'` (and loosening the CSP for the
        # test would hide what a customer's browser enforces).
        await page.evaluate(AXE.read_text())
    result: dict[str, Any] = await page.evaluate(
        """async () => await window.axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
        })"""
    )
    return [
        Violation(
            v["id"],
            v["impact"],
            v["help"],
            [", ".join(node["target"]) for node in v["nodes"]],
        )
        for v in result["violations"]
        if v["impact"] in impacts
    ]


async def overflows_horizontally(page: Page) -> bool:
    """True when the page is wider than the window (a phone would scroll sideways)."""
    return bool(
        await page.evaluate(
            "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
    )


async def screenshot(page: Page, name: str) -> Path | None:
    """A full-page PNG named `name` in CIAM_SCREENSHOTS, when that is set."""
    folder = os.environ.get("CIAM_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(path), full_page=True)
    return path


# A word lying on more than one line: broken in the middle for want of room.
_WORDS_SPLIT = """(selector) => {
    const split = [];
    for (const element of document.querySelectorAll(selector)) {
        const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const found of node.data.matchAll(/\\S+/g)) {
                const word = document.createRange();
                word.setStart(node, found.index);
                word.setEnd(node, found.index + found[0].length);
                const lines = new Set([...word.getClientRects()].map(r => Math.round(r.top)));
                if (lines.size > 1) split.push(found[0]);
            }
        }
    }
    return split;
}"""


async def words_split(page: Page, selector: str) -> list[str]:
    """The words the elements matching `selector` break in the middle (a table squeezed on a
    phone shows "Oczekiwani/e"), measured by where the browser laid out each word's text."""
    return list(await page.evaluate(_WORDS_SPLIT, selector))


async def despite_reloads(
    page: Page, checks: Callable[[], Awaitable[None]], tries: int = 5
) -> None:
    """Run `checks` on a page that reloads itself (a `Refresh` header, as the status pages
    of an export or an erasure): when a reload cuts them short (the evaluated script's page
    is gone), they run again on the new load."""
    for _ in range(tries):
        try:
            await checks()
            return
        except PlaywrightError as cut:
            if "context was destroyed" not in str(cut):
                raise
            await page.wait_for_load_state()
    raise AssertionError(f"every try was cut short by a reload of {page.url}")
