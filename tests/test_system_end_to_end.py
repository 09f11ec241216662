"""The whole system as separate processes, started by the runner `make run` uses.

An account registered at the auth service (confirmed with the code it mails to the runner's
mail sink) leaves through its outbox onto Kafka and is seen applied by the profile and consent
services; the notifier's confirmation of a consent reaches the sink too; Ctrl-C (SIGINT) then
stops every process.
"""

from __future__ import annotations

import asyncio
import base64
import email
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import ECKey

from ciam_auth.adapters import totp
from ciam_consent.integrity import verify_receipt
from ciam_devtools.devstack import free_port
from ciam_devtools.devstack.process import port_in_use
from ciam_devtools.testing.mail import wait_for_mail
from ciam_devtools.testing.plugin import eventually
from ciam_devtools.testing.system import four_free_ports

pytestmark = pytest.mark.e2e

READY_TIMEOUT = 180.0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def read_until_ready(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while True:
        raw = await stream.readline()
        if not raw:
            raise AssertionError("runner exited before ready:\n" + "".join(lines))
        lines.append(raw.decode())
        if lines[-1].startswith("ready:"):
            return


async def test_an_event_crosses_services_started_by_the_runner_and_all_stop_cleanly(
    kafka_bootstrap: str,
    redis_url: str,
    postgres_admin_url: str,
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    base = four_free_ports()
    mail_port, mail_web_port = free_port(), free_port()
    sink = f"http://127.0.0.1:{mail_web_port}"
    env = os.environ | {
        "CIAM_MAIL_PORT": str(mail_port),
        "CIAM_MAIL_WEB_PORT": str(mail_web_port),
        "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256").as_pem(private=True).decode(),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "DATABASE_URL": postgres_admin_url,
        "CIAM_ENVIRONMENT": "test",
        "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
    }
    runner = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ciam_devtools.devstack.run",
        "--base-port",
        str(base),
        "--topic-prefix",
        topic_prefix,
        "--db-prefix",
        f"e2e_{uuid.uuid4().hex[:8]}_",
        "--var",
        str(tmp_path),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert runner.stdout is not None
    lines: list[str] = []
    try:
        await asyncio.wait_for(read_until_ready(runner.stdout, lines), READY_TIMEOUT)
        # The profile and the notifier got their own clients for auth's internal API, which
        # auth declared (AUTH_SERVICE_CLIENTS) and created as it started; no log holds a secret.
        logs = {path.name: path.read_text() for path in (tmp_path / "logs").glob("*.log")}
        for service in ("profile", "notifier"):
            path = tmp_path / f"{service}-client.json"
            assert path.stat().st_mode & 0o077 == 0
            own = json.loads(path.read_text())
            assert f"service client {own['client_id']} created" in logs["auth.log"]
            assert not [name for name, text in logs.items() if own["client_secret"] in text]
        assert "social import off" not in logs["profile.log"]
        assert f"mail: ready {sink}" in "".join(lines)
        pids = [int(p) for p in re.findall(r"\(pid (\d+),", "".join(lines))]
        assert len(pids) == 4, lines
        assert all(alive(pid) for pid in pids)

        async with httpx.AsyncClient(timeout=10) as client:
            address = f"{uuid.uuid4().hex[:8]}@example.com"
            created = await client.post(
                f"http://127.0.0.1:{base}/v1/accounts",
                json={"email": address, "password": "a long enough passphrase"},
                headers={"accept-language": "pl"},
            )
            assert created.status_code == 202, created.text

            mail = await wait_for_mail(sink, address, "Potwierdź adres e-mail")
            code = re.search(r"\b(\d{6})\b", mail["text"])
            assert code, mail["text"]
            verified = await client.post(
                f"http://127.0.0.1:{base}/v1/email-verifications",
                json={"email": address, "code": code.group(1)},
            )
            assert verified.status_code == 200, verified.text
            subject = verified.json()["subject_id"]

            # The runner registered a development client; its token comes from auth's token
            # endpoint, and profile and consent verify it against auth's JWKS.
            dev = json.loads((tmp_path / "dev-client.json").read_text())
            granted = await client.post(
                f"http://127.0.0.1:{base}/token",
                data={
                    "grant_type": "client_credentials",
                    "scope": "consent:read consent:write profile:admin",
                },
                auth=(dev["client_id"], dev["client_secret"]),
            )
            assert granted.status_code == 200, granted.text
            bearer = {"authorization": f"Bearer {granted.json()['access_token']}"}

            async def applied(url: str) -> bool:
                return (await client.get(url, headers=bearer)).status_code == 200

            await eventually(lambda: applied(f"http://127.0.0.1:{base + 1}/v1/profiles/{subject}"))

            async def consent_knows_subject() -> bool:
                response = await client.get(
                    f"http://127.0.0.1:{base + 2}/v1/subjects/{subject}/consents",
                    headers=bearer,
                )
                return response.status_code == 200

            await eventually(consent_knows_subject)
            # The notifier confirms the grant by mail (in the account's language) to the sink.
            grant = f"http://127.0.0.1:{base + 2}/v1/subjects/{subject}/consents/email-marketing"
            granted_consent = await client.post(f"{grant}/grant", headers=bearer, json={})
            assert granted_consent.status_code in (200, 201), granted_consent.text
            confirmation = await wait_for_mail(sink, address, "Zapisaliśmy Twój wybór", 60)
            assert "Zapisaliśmy Twoją zgodę na „email-marketing”" in confirmation["text"]
            for port in range(base, base + 4):
                ready = await client.get(f"http://127.0.0.1:{port}/readyz")
                assert ready.status_code == 200, ready.text

        runner.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(runner.stdout.read(), 60)
        assert await asyncio.wait_for(runner.wait(), 30) == 0, rest.decode()
        assert "stopped" in rest.decode()
        assert not [pid for pid in pids if alive(pid)], "service processes left behind"
        assert not any(port_in_use(p) for p in [*range(base, base + 4), mail_port, mail_web_port])
    finally:
        if runner.returncode is None:
            runner.kill()
            await runner.wait()


# The runner on its defaults: its own PostgreSQL, its own secrets, development; every customer
# flow (register, verify, sign in, change password, reset, sign in with an app, refresh, TOTP,
# delete; several answered 500 on the former SQLite default), then a restart that keeps them.

PASSWORD = "a long enough passphrase"
KEK_FILE = "auth-key-encryption-secret"
CALLBACK = "http://127.0.0.1:9/callback"  # never contacted: the browser stops at the redirect


class Runner:
    """`python -m ciam_devtools.devstack.run` as a process, started and stopped like `make run`."""

    def __init__(self, env: dict[str, str], args: list[str]) -> None:
        self.env, self.args = env, args
        self.process: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []

    async def start(self) -> list[str]:
        self.lines = []
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ciam_devtools.devstack.run", *self.args, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        assert self.process.stdout is not None
        await asyncio.wait_for(read_until_ready(self.process.stdout, self.lines), READY_TIMEOUT)
        return self.lines

    async def stop(self) -> str:
        assert self.process is not None and self.process.stdout is not None
        self.process.send_signal(signal.SIGINT)
        rest = (await asyncio.wait_for(self.process.stdout.read(), 90)).decode()
        assert await asyncio.wait_for(self.process.wait(), 30) == 0, rest
        return rest

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


def mail_bodies(mail: Path, address: str) -> list[str]:
    """The decoded bodies of the mails to `address`, oldest first."""
    mails = sorted(
        (p for p in mail.glob("*.eml") if address in p.read_text(errors="replace")),
        key=lambda p: p.stat().st_mtime_ns,
    )
    bodies = []
    for path in mails:
        parts = email.message_from_bytes(path.read_bytes()).walk()
        payloads = [part.get_payload(decode=True) for part in parts]
        bodies.append("\n".join(p.decode() for p in payloads if isinstance(p, bytes)))
    return bodies


def mailed_code(mail: Path, address: str, after: int = 0) -> str | None:
    """The 6-digit code of the newest mail to `address` beyond the first `after` ones."""
    bodies = mail_bodies(mail, address)
    if len(bodies) <= after:
        return None
    found = re.search(r"\b(\d{6})\b", bodies[-1])
    return found.group(1) if found else None


async def code_for(mail: Path, address: str, after: int = 0) -> str:
    async def probe() -> str | None:
        return await asyncio.to_thread(mailed_code, mail, address, after)

    return str(await eventually(probe, timeout=60))


async def registered(http: httpx.AsyncClient, auth: str, mail: Path, address: str) -> str:
    created = await http.post(f"{auth}/v1/accounts", json={"email": address, "password": PASSWORD})
    assert created.status_code == 202, created.text
    code = await code_for(mail, address)
    verified = await http.post(
        f"{auth}/v1/email-verifications", json={"email": address, "code": code}
    )
    assert verified.status_code == 200, verified.text
    return str(verified.json()["subject_id"])


@asynccontextmanager
async def signed_in(auth: str, address: str, password: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding the session cookie (development: the cookie is not `Secure`)."""
    async with httpx.AsyncClient(base_url=auth, timeout=30) as browser:
        body = {"email": address, "password": password}
        response = await browser.post("/v1/sessions", json=body)
        assert response.status_code == 200, response.text
        yield browser


async def code_flow_tokens(auth: str, address: str, password: str, rp: dict[str, Any]) -> Any:
    """Authorization code + PKCE as a relying party does, the test playing the browser."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = {
        "response_type": "code", "client_id": rp["client_id"], "redirect_uri": CALLBACK,
        "scope": "openid email offline_access", "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8), "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }  # fmt: skip
    async with signed_in(auth, address, password) as browser:
        response = await browser.get("/authorize", params=query)
        while not response.headers.get("location", "").startswith(CALLBACK):
            assert response.status_code in (302, 303) or "<form" in response.text, response.text
            if response.status_code == 200:  # a consent screen: approve it as shown
                found = re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', response.text)
                action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
                target = html.unescape(action.group(1)) if action else str(response.url)
                form = {name: html.unescape(value) for name, value in found}
                response = await browser.post(target, data=form)
            else:
                response = await browser.get(response.headers["location"])
        callback = parse_qs(urlsplit(response.headers["location"]).query)
        assert callback["state"] == [query["state"]], callback
        tokens = await browser.post(
            "/token",
            data={"grant_type": "authorization_code", "code": callback["code"][0],
                  "redirect_uri": CALLBACK, "code_verifier": verifier},
            auth=(rp["client_id"], rp["client_secret"]),
        )  # fmt: skip
    assert tokens.status_code == 200, tokens.text
    return tokens.json()


async def refreshed(auth: str, rp: dict[str, Any], refresh_token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{auth}/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(rp["client_id"], rp["client_secret"]),
        )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    assert tokens["refresh_token"] != refresh_token
    return tokens


@pytest.mark.timeout(1200)
async def test_the_runner_serves_every_flow_on_its_own_postgres_and_keeps_them_over_a_restart(
    kafka_bootstrap: str, redis_url: str, topic_prefix: str
) -> None:
    base, postgres_port = four_free_ports(), free_port()
    # As root the cluster runs as `postgres`, which pytest's private tmp_path keeps out.
    home = Path(tempfile.mkdtemp(prefix="ciam-runner-"))
    os.chmod(home, 0o711)  # noqa: S103 - traversable, not listable
    var = home / "var"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CIAM_ENVIRONMENT", "AUTH_SMTP_HOST", "AUTH_SMTP_PORT",
                     "AUTH_KEY_ENCRYPTION_SECRET", "CONSENT_RECEIPT_SIGNING_KEY", "TOKEN_ISSUER"}
    } | {
        # The test's broker and Redis, to keep it short; PostgreSQL is the runner's own.
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "CIAM_BASE_PORT": str(base),
        "CIAM_POSTGRES_PORT": str(postgres_port),
        "CIAM_MAIL_PORT": str(free_port()),
        "CIAM_MAIL_WEB_PORT": str(free_port()),
        "CIAM_DEMO": "0",  # the demo brand has its own test (test_demo_brand.py)
    }  # fmt: skip
    runner = Runner(env, ["--topic-prefix", topic_prefix, "--var", str(var)])
    auth, consent = f"http://127.0.0.1:{base}", f"http://127.0.0.1:{base + 2}"
    mail = var / "mail"
    try:
        lines = "".join(await runner.start())
        assert f"postgres: ready on 127.0.0.1:{postgres_port}" in lines, lines
        assert (var / "postgres" / "data" / "PG_VERSION").exists()
        assert "sqlite" not in lines.lower()
        for name in ("auth-key-encryption-secret", "consent-receipt-signing-key.pem"):
            assert (var / "secrets" / name).stat().st_mode & 0o077 == 0

        async with httpx.AsyncClient(timeout=30) as http:
            kept = f"kept-{uuid.uuid4().hex[:8]}@example.com"
            subject = await registered(http, auth, mail, kept)
            # The mail's link is on the runner's base port (AUTH_PUBLIC_URL), not 8001.
            assert f"{auth}/verify-email" in mail_bodies(mail, kept)[0]

            # Password change (a 500 "database is locked" on SQLite).
            async with signed_in(auth, kept, PASSWORD) as browser:
                changed = await browser.post(
                    "/v1/me/password",
                    json={"current_password": PASSWORD, "new_password": PASSWORD + " two"},
                )
                assert changed.status_code == 200, changed.text

            # Password reset (the same 500 on SQLite).
            asked = await http.post(f"{auth}/v1/password-resets", json={"email": kept})
            assert asked.status_code == 202, asked.text
            code = await code_for(mail, kept, after=1)
            reset = await http.post(
                f"{auth}/v1/password-resets/confirm",
                json={"email": kept, "code": code, "new_password": PASSWORD + " three"},
            )
            assert reset.status_code == 200, reset.text
            password = PASSWORD + " three"

            # A refresh-token exchange (a 500 on SQLite: PostgreSQL-only SQL).
            auth_env = env | {
                "AUTH_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{postgres_port}/ciam_auth",
                "AUTH_KEY_ENCRYPTION_SECRET": (var / "secrets" / KEK_FILE).read_text(),
                "CIAM_ENVIRONMENT": "development",
                "KAFKA_TOPIC_PREFIX": topic_prefix,
                "TOKEN_ISSUER": auth,
            }  # fmt: skip
            created = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "ciam_auth.cli", "create-client", "--name", "Shop",
                "--first-party", "--redirect-uri", CALLBACK, "--scope", "openid",
                "--scope", "email", "--scope", "offline_access",
                "--grant", "authorization_code", "--grant", "refresh_token",
                env=auth_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await created.communicate()
            assert created.returncode == 0, err.decode()
            rp = json.loads(out.decode().strip().splitlines()[-1])
            tokens = await code_flow_tokens(auth, kept, password, rp)
            tokens = await refreshed(auth, rp, tokens["refresh_token"])

            # TOTP on another account: enrol, then sign in with the password and a code.
            gone = f"gone-{uuid.uuid4().hex[:8]}@example.com"
            await registered(http, auth, mail, gone)
            async with signed_in(auth, gone, PASSWORD) as browser:
                secret = (await browser.post("/v1/me/totp")).json()["secret"]
                step = totp.current_step()
                confirm = {"code": totp.hotp(secret, step)}
                confirmed = await browser.post("/v1/me/totp/confirm", json=confirm)
                assert confirmed.status_code == 200, confirmed.text
            async with httpx.AsyncClient(base_url=auth, timeout=30) as browser:
                body = {"email": gone, "password": PASSWORD}
                first = (await browser.post("/v1/sessions", json=body)).json()
                assert first["mfa_required"] is True, first
                second_step = {"mfa_token": first["mfa_token"], "code": totp.hotp(secret, step + 1)}
                second = await browser.post("/v1/sessions/mfa", json=second_step)
                assert second.status_code == 200, second.text
                # Account deletion (the same 500 on SQLite), in that session.
                deleted = await browser.request("DELETE", "/v1/me", json={"password": PASSWORD})
                assert deleted.status_code == 204, deleted.text

            # A consent receipt, signed with the runner's key.
            dev = json.loads((var / "dev-client.json").read_text())
            granted = await http.post(
                f"{auth}/token",
                data={"grant_type": "client_credentials", "scope": "consent:read consent:write"},
                auth=(dev["client_id"], dev["client_secret"]),
            )
            assert granted.status_code == 200, granted.text
            bearer = {"authorization": f"Bearer {granted.json()['access_token']}"}

            async def grant() -> httpx.Response | None:
                response = await http.post(
                    f"{consent}/v1/subjects/{subject}/consents/email-marketing/grant",
                    json={"brand": "demo"},
                    headers=bearer,
                )
                return response if response.status_code == 200 else None

            version = (await eventually(grant, timeout=60)).json()["version"]
            receipt = await http.get(
                f"{consent}/v1/subjects/{subject}/receipts/{version}", headers=bearer
            )
            assert receipt.status_code == 200, receipt.text
            jws = receipt.json()["jws"]

        summary = await runner.stop()  # what followed the ready line, then the stop
        assert f"{auth}/register" in summary and f"{consent}/docs" in summary, summary
        assert summary.rstrip().endswith("stopped"), summary

        lines = "".join(await runner.start())
        assert "initdb" not in lines and "generated" not in lines, lines  # all kept
        async with httpx.AsyncClient(timeout=30) as http:
            async with signed_in(auth, kept, password):
                pass  # the account and its last password survived the restart
            refused = await http.post(
                f"{auth}/v1/sessions", json={"email": gone, "password": PASSWORD}
            )
            assert refused.status_code == 401, refused.text
            keys = (await http.get(f"{consent}/v1/receipts/jwks.json")).json()
            assert verify_receipt(jws, keys)["piiPrincipalId"] == subject
            # The sealed signing key opens under the kept key encryption secret: a refresh
            # token issued before the restart still works.
            await refreshed(auth, rp, tokens["refresh_token"])
        assert "stopped" in await runner.stop()
    finally:
        await runner.kill()
        shutil.rmtree(home, ignore_errors=True)


# The README's "Try it", verbatim: its shell block, step by step, against the runner. Only the
# ports move (to free ones) and the mailed code is filled in, as a reader copies it from the
# mail page. A step whose curl gets an error status fails (`curl --fail-with-body`); a step is
# retried for a few seconds, as a reader would, where it needs an event another service has not
# applied yet (the app's registration reaching the profile, the grant reaching it).

REPO = Path(__file__).resolve().parents[1]
README_PORTS = {"8001": 0, "8002": 1, "8003": 2, "8004": 3}


def readme_steps() -> list[str]:
    """The commands of the README's "Try it" block, one per step (comment lines dropped)."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"## Try it.*?```sh\n(.*?)```", text, re.S)
    assert block is not None, "README.md has no Try it block"
    steps, current = [], ""
    for line in block.group(1).splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line + "\n"
        checked = subprocess.run(["bash", "-n"], input=current, capture_output=True, text=True)
        if checked.returncode == 0 and not line.endswith("\\"):
            steps.append(current)
            current = ""
    assert not current, f"an unfinished command at the end of the block: {current}"
    return steps


def on_ports(step: str, base: int, mail_web: int) -> str:
    step = re.sub(r"localhost:(800[1-4])", lambda m: f"localhost:{base + README_PORTS[m[1]]}", step)
    return step.replace("localhost:8026", f"localhost:{mail_web}")


@pytest.mark.timeout(600)
async def test_the_readme_try_it_block_runs_verbatim_against_the_runner(
    kafka_bootstrap: str, redis_url: str, postgres_admin_url: str, topic_prefix: str
) -> None:
    steps = readme_steps()
    assert any("<6 digits>" in step for step in steps) and len(steps) >= 10, steps
    base, mail_web = four_free_ports(), free_port()
    home = Path(tempfile.mkdtemp(prefix="ciam-readme-"))
    var, state = home / "var", home / "state.sh"
    state.write_text("")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CIAM_ENVIRONMENT", "AUTH_SMTP_HOST", "AUTH_SMTP_PORT", "TOKEN_ISSUER",
                     "AUTH_KEY_ENCRYPTION_SECRET", "CONSENT_RECEIPT_SIGNING_KEY"}
    } | {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "DATABASE_URL": postgres_admin_url,
        "CIAM_BASE_PORT": str(base),
        "CIAM_MAIL_PORT": str(free_port()),
        "CIAM_MAIL_WEB_PORT": str(mail_web),
        "CIAM_DEMO": "0",
    }  # fmt: skip
    prefix = f"readme_{uuid.uuid4().hex[:8]}_"
    runner = Runner(env, ["--topic-prefix", topic_prefix, "--var", str(var), "--db-prefix", prefix])
    # `make -s token` reads the runner's var/ (make passes ARGS on to the console).
    shell_env = env | {"ARGS": f"--var {var}"}
    prelude = (
        "set -euo pipefail\n"
        'curl() { command curl --fail-with-body --max-time 30 "$@"; }\n'
        f"source {state}\n"
    )
    keep = f"\ndeclare -p S T C P 2>/dev/null > {state} || true\n"
    outputs: list[str] = []
    failures: list[str] = []
    try:
        await runner.start()
        for number, step in enumerate(steps):
            if "<6 digits>" in step:
                mail = await wait_for_mail(f"http://127.0.0.1:{mail_web}", "ada@example.com")
                code = re.search(r"\b(\d{6})\b", mail["text"])
                assert code is not None, mail["text"]
                step = step.replace("<6 digits>", code[1])
            script = prelude + on_ports(step, base, mail_web) + keep

            # The last step waits for the grant to reach the profile, as a reader would.
            wanted = "maths" if number == len(steps) - 1 else ""
            failures.clear()

            async def ran(script: str = script, wanted: str = wanted) -> list[str] | None:
                done = await asyncio.to_thread(
                    subprocess.run, ["bash", "-c", script], cwd=REPO, env=shell_env,
                    capture_output=True, text=True, timeout=60,
                )  # fmt: skip
                if done.returncode == 0 and wanted in done.stdout:
                    return [done.stdout]
                failures.append(done.stdout + done.stderr)
                return None

            try:
                outputs.extend(await eventually(ran, timeout=20, interval=0.5))
            except AssertionError as failed:
                raise AssertionError(f"README step {step}failed: {failures[-1:]}") from failed
        variables = state.read_text()
        assert re.search(r'S="[0-9a-f-]{36}"', variables), variables
        # The withdrawal's answer; the app's view of the profile before and after the grant.
        assert '"status":"withdrawn"' in outputs[4].replace(" ", ""), outputs[4]
        assert "interests" not in json.loads(outputs[-3])["fields"], outputs[-3]
        assert json.loads(outputs[-1])["fields"]["interests"]["value"] == ["maths"], outputs[-1]
        await runner.stop()
    finally:
        await runner.kill()
        shutil.rmtree(home, ignore_errors=True)
