"""From a click on the privacy page to a brand app's callback: `make bench-privacy`.

A customer signed in in the system's Chromium (Playwright) clicks "Give consent" / "Withdraw
consent" of one purpose on /privacy, alternately, `--clicks` times (after `--warm-up` clicks
not counted). Latency is measured from just before the click (Playwright's `click`, in this
process) to the subscriber's callback for that change: the subscriber is a `ConsentView` (the
SDK) in a process of its own (tests/support/subscriber.py) reading the consent state topic,
and it stamps each callback with `time.perf_counter()` (CLOCK_MONOTONIC, one clock for every
process of the machine). Between the two: the browser's form post, auth (CSRF, session, a
customer token), the consent API (write, outbox), the relay, Kafka, the view's callback.

As `make run` runs the system: auth and consent each a uvicorn process of its own
(`ServiceProcess`), the subscriber in a third, Chromium in its own; this process drives the
browser and catches the sign-up mail. Real Kafka, PostgreSQL and Redis.

Also reported: the page's own time (click to the updated page: the post, its 303 and the GET
that reads the consents back, swapped in by privacy.js), and the load average before and
after. `--service-code DIR` runs auth and consent from another checkout (old and new code in
one sitting); `--profile DIR` records auth and consent with py-spy during the counted clicks.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from common import percentile, run, write_result
from joserfc.jwk import ECKey
from pinning import ServiceCpu

from ciam_devtools.devstack import free_port
from ciam_devtools.devstack.mailsink import MailSink
from ciam_devtools.testing.browser import DESKTOP, chromium
from ciam_devtools.testing.mail import newest_mail_id, wait_for_mail
from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess
from ciam_devtools.testing.privacy_stack import PrivacyStack

PASSWORD = "a long and unusual passphrase 42"  # noqa: S105 (a throwaway account)
PURPOSE = "analytics"
PY_SPY = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "py-spy"


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1),
    }


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@asynccontextmanager
async def services(
    databases: DatabaseFactory,
    *,
    kafka: str,
    redis: str,
    workdir: Path,
    code: str = "",
) -> AsyncIterator[tuple[PrivacyStack, dict[str, int]]]:
    """Auth and consent as processes of their own, configured as the test stack
    (ciam_devtools.testing.privacy_stack) configures them in one event loop. `code`: another
    checkout to run them from (its packages first on PYTHONPATH)."""
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    auth = ServiceProcess("auth", {}, workdir)
    consent = ServiceProcess("consent", {}, workdir)
    common = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "REDIS_URL": redis,
        "KAFKA_TOPIC_PREFIX": prefix,
        "CIAM_ENVIRONMENT": "test",
    }
    if code:
        paths = [Path(code) / p for p in ("shared", "services/auth", "services/consent", "sdk")]
        common["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    async with AsyncExitStack() as stack:
        sink = await MailSink(workdir / "mail", smtp_port=free_port(), web_port=free_port()).start()
        stack.push_async_callback(sink.stop)
        auth_db = await databases.create("ciam_auth.migrations")
        consent_db = await databases.create("ciam_consent.migrations")
        auth.env |= common | {
            "AUTH_DATABASE_URL": auth_db,
            "AUTH_MIGRATE_ON_START": "false",
            "AUTH_OUTBOX_SWEEP_SECONDS": "1.0",
            "AUTH_ISSUER": auth.url,
            "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
            "AUTH_CONSENT_URL": consent.url,
            "AUTH_SMTP_PORT": str(sink.smtp_port),
            "AUTH_MAIL_DIR": "",
        }
        consent.env |= common | {
            "CONSENT_DATABASE_URL": consent_db,
            "CONSENT_MIGRATE_ON_START": "false",
            "CONSENT_OUTBOX_SWEEP_SECONDS": "1.0",
            "TOKEN_ISSUER": auth.url,
            "TOKEN_JWKS_URL": f"{auth.url}/.well-known/jwks.json",
            "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256")
            .as_pem(private=True)
            .decode(),
        }
        # Another checkout runs on its own environment's interpreter where it has one (its
        # dependencies as they were), else on this one.
        python = Path(code) / ".venv" / "bin" / "python" if code else None
        for service in (auth, consent):
            start(service, str(python) if python and python.exists() else sys.executable)
            stack.callback(service.stop)
        privacy = PrivacyStack(auth.url, consent.url, sink.url, kafka, prefix)
        try:
            # taskset is not used here: ServiceProcess's pid is the interpreter's.
            yield privacy, {"auth": auth.proc.proc.pid, "consent": consent.proc.proc.pid}
        finally:
            for app in privacy.subscribers:
                await app.stop()


def start(service: ServiceProcess, python: str) -> None:
    """`service.start()` with `python` as the interpreter (ServiceProcess runs
    `sys.executable`)."""
    saved, sys.executable = sys.executable, python
    try:
        service.start()
    finally:
        sys.executable = saved


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


def start_profiles(
    pids: dict[str, int], directory: str, seconds: int
) -> list[subprocess.Popen[bytes]]:
    """py-spy on each service for `seconds` (raw stacks, --nonblocking: the services run on)."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [
                str(PY_SPY),
                "record",
                "-p",
                str(pid),
                "-d",
                str(seconds),
                "-r",
                "100",
                "--nonblocking",
                "-f",
                "raw",
                "-o",
                str(Path(directory) / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    ]


async def main(args: argparse.Namespace, kafka: str, redis: str, postgres: str) -> dict[str, Any]:
    load_before = load_average()
    workdir = Path(tempfile.mkdtemp())
    async with (
        services(
            DatabaseFactory(postgres), kafka=kafka, redis=redis, workdir=workdir,
            code=args.service_code,
        ) as (stack, pids),
        chromium() as browser,
    ):  # fmt: skip
        app = await stack.subscriber("bench-app")
        context = await browser.new_context(viewport=DESKTOP, locale="en-GB")
        page = await context.new_page()
        await sign_up(page, stack.auth_url, stack.mail_url)
        me = await page.request.get(f"{stack.auth_url}/v1/me")
        subject = str((await me.json())["subject_id"])
        button = f"#purpose-{PURPOSE} form button"

        to_callback: list[float] = []
        to_page: list[float] = []
        profiles: list[subprocess.Popen[bytes]] = []
        # Each service's CPU time from /proc over the counted clicks (its live proof's polls
        # included): what a click costs it, whatever else the machine runs.
        cpus = {name: type(name, (ServiceCpu,), {"pid": pid}) for name, pid in pids.items()}
        cpu_at: dict[str, float] = {}
        for i in range(args.warm_up + args.clicks):
            if i == args.warm_up:
                cpu_at = {name: cpu.seconds() for name, cpu in cpus.items()}
            if i == args.warm_up and args.profile:
                profiles = start_profiles(pids, args.profile, args.profile_seconds)
            version = max(app.versions_of(subject), default=0) + 1
            started = time.perf_counter()
            async with page.expect_navigation():
                await page.click(button)
            shown = time.perf_counter()
            line = await app.change_of(subject, version)
            if i >= args.warm_up:
                # The subscriber's own stamp; the time this process read its line otherwise.
                to_callback.append((line.get("at", line["arrived"]) - started) * 1000)
                to_page.append((shown - started) * 1000)
        cpu_ms = {
            f"{name}_cpu_ms_per_click": round(
                (cpu.seconds() - cpu_at[name]) * 1000 / args.clicks, 2
            )
            for name, cpu in cpus.items()
        }
        for profile in profiles:
            profile.wait()
        await context.close()
    shutil.rmtree(workdir, ignore_errors=True)
    result = {
        "machine": f"{os.cpu_count()} cores",
        "processes": "auth, consent, subscriber, Chromium each their own",
        "service_code": args.service_code or "this checkout",
        "clicks": args.clicks,
        "click_to_callback": summary(to_callback),
        "click_to_updated_page": summary(to_page),
        **cpu_ms,
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }
    write_result(args.output, result)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=300)
    parser.add_argument("--warm-up", type=int, default=10)
    parser.add_argument("--output", default="privacy_click")
    parser.add_argument("--service-code", default="", help="run auth and consent from here")
    parser.add_argument("--profile", default="", help="py-spy raw profiles into this directory")
    parser.add_argument("--profile-seconds", type=int, default=20)
    run(main, parser.parse_args())
