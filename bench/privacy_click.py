"""From a click on the privacy page to a brand app's callback: `make bench-privacy`.

A customer signed in in the system's Chromium (Playwright) clicks "Give consent" / "Withdraw
consent" of one purpose on /privacy, alternately, `--clicks` times (after `--warm-up` clicks
not counted). Latency is measured from just before the click (Playwright's `click`, in this
process) to the moment this process reads the subscriber's line for that change: the
subscriber is a `ConsentView` (the SDK) in a process of its own
(tests/support/subscriber.py), reading the consent state topic. Between the two: the
browser's form post, auth (CSRF, session, a customer token), the consent API (write, outbox),
the relay, Kafka, the view's callback, a pipe. Auth and consent run in this process's event
loop (ciam_devtools.testing.privacy_stack), on real Kafka, PostgreSQL and Redis.

Also reported: the page's own time (click to the reloaded /privacy: the post, its 303 and the
GET that reads every consent back), and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from common import percentile, run, write_result

from ciam_devtools.testing.browser import DESKTOP, chromium
from ciam_devtools.testing.mail import newest_mail_id, wait_for_mail
from ciam_devtools.testing.plugin import DatabaseFactory
from ciam_devtools.testing.privacy_stack import privacy_stack

PASSWORD = "a long and unusual passphrase 42"  # noqa: S105 (a throwaway account)
PURPOSE = "analytics"


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1),
    }


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def sign_up(page: Any, auth_url: str, mail_url: str) -> None:
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    await page.goto(f"{auth_url}/register")
    mark = await newest_mail_id(mail_url)
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    async with page.expect_navigation():
        await page.click("form[action='/register'] button")
    mail = await wait_for_mail(mail_url, email, newer_than=mark)
    code = re.search(r"\b(\d{6})\b", mail["text"])
    assert code, mail["text"]
    await page.fill("#code", code.group(1))
    async with page.expect_navigation():
        await page.click("form[action='/verify-email'] button")
    await page.goto(f"{auth_url}/login?return_to=/privacy")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    async with page.expect_navigation():
        await page.click("form[action='/login'] button")


async def main(args: argparse.Namespace, kafka: str, redis: str, postgres: str) -> dict[str, Any]:
    load_before = load_average()
    async with (
        privacy_stack(
            DatabaseFactory(postgres),
            kafka=kafka,
            redis=redis,
            prefix=f"bench{uuid.uuid4().hex[:6]}.",
            workdir=Path(tempfile.mkdtemp()),
        ) as stack,
        chromium() as browser,
    ):
        app = await stack.subscriber("bench-app")
        context = await browser.new_context(viewport=DESKTOP, locale="en-GB")
        page = await context.new_page()
        await sign_up(page, stack.auth_url, stack.mail_url)
        me = await page.request.get(f"{stack.auth_url}/v1/me")
        subject = str((await me.json())["subject_id"])
        button = f"#purpose-{PURPOSE} form button"

        to_callback: list[float] = []
        to_page: list[float] = []
        for i in range(args.warm_up + args.clicks):
            version = max(app.versions_of(subject), default=0) + 1
            started = time.perf_counter()
            async with page.expect_navigation():
                await page.click(button)
            shown = time.perf_counter()
            line = await app.change_of(subject, version)
            if i >= args.warm_up:
                to_callback.append((line["arrived"] - started) * 1000)
                to_page.append((shown - started) * 1000)
        await context.close()
    result = {
        "machine": f"{os.cpu_count()} cores",
        "clicks": args.clicks,
        "click_to_callback": summary(to_callback),
        "click_to_reloaded_page": summary(to_page),
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }
    write_result("privacy_click", result)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=300)
    parser.add_argument("--warm-up", type=int, default=10)
    run(main, parser.parse_args())
