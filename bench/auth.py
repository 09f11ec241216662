"""Auth benchmark, per core: the service pinned to one core, the load from the other.

    make bench-auth    -> bench/results/auth.json

Real PostgreSQL, Redis and Kafka (ciam_devtools.devstack, or the servers the environment names);
the auth service as its own uvicorn process (one worker) pinned to CPU 0 with `taskset`; this
process, the load generator, pinned to CPU 1. Each figure is requests answered 200 per second
over a fixed window with a fixed number of concurrent requests, side by side in one run:

- hash_per_s: raw argon2id hashes per second with the service's parameters, one thread pinned
  to the service's core (the service idle), half the window before the logins, half after;
- login_per_s: password sign-ins through the HTTP API (each verifies one argon2id hash);
- passkey_sign_in_per_s: passkey sign-ins through the HTTP API, each two requests (the
  options with a fresh challenge, then the assertion: challenge taken from Redis, ES256
  signature and counter checked, session started), signed by the software authenticator of
  ciam_devtools.testing.webauthn in this process;
- client_credentials_per_s, refresh_per_s (each refresh rotates: the next uses the new token),
  introspect_per_s;
- verify_per_s: local access-token verifications with the shared helper, one thread;
- healthz_per_s: the same load on an endpoint that does nothing, the ceiling of this load
  generator and of the HTTP stack on this machine (a figure near it means the load generator,
  not the service, was the limit).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher, Type
from common import percentile, run, write_result
from pinning import LOAD_CPU, SERVICE_CPU, ServiceCpu, pin_to_load_cpu, server_cpus

from ciam_auth.settings import AuthSettings
from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess
from ciam_shared.tokens.verifier import TokenVerifier


def service_hasher() -> PasswordHasher:
    """argon2id with the service's default parameters (m=19 MiB, t=2, p=1)."""
    defaults = AuthSettings.model_fields
    return PasswordHasher(
        time_cost=defaults["argon2_time_cost"].default,
        memory_cost=defaults["argon2_memory_kib"].default,
        parallelism=defaults["argon2_parallelism"].default,
        type=Type.ID,
    )


HASHER = service_hasher()
PASSWORD = "a bench passphrase 1"  # noqa: S105 - the benchmark's own test accounts


def hashes_per_second(seconds: float, cpu: int) -> tuple[float, float]:
    """Hashes per second of wall time in one thread pinned to `cpu`, and the CPU milliseconds
    of one hash."""
    out: list[tuple[float, float]] = []

    def measure() -> None:
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
            os.sched_setaffinity(0, {cpu})  # 0: this thread only
        count, start, cpu_start = 0, time.perf_counter(), time.thread_time()
        while time.perf_counter() - start < seconds:
            HASHER.hash("correct horse battery staple")
            count += 1
        wall = time.perf_counter() - start
        out.append((count / wall, (time.thread_time() - cpu_start) * 1000 / count))

    thread = threading.Thread(target=measure)
    thread.start()
    thread.join()
    return out[0]


async def throughput(
    call: Callable[[int], Awaitable[bool]], *, seconds: float, concurrency: int
) -> tuple[float, list[float]]:
    """Requests that succeeded per second, and each request's latency in ms."""
    ok, latencies = 0, []
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal ok
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            if await call(n):
                ok += 1
            latencies.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return ok / (time.perf_counter() - start), latencies


def run_wrk(command: list[str], script: str) -> dict[str, float]:
    """Run wrk on the load core: 2xx answers per second, p99 and the count of the others."""
    import re
    import subprocess

    if shutil.which("taskset"):
        command = ["taskset", "-c", str(LOAD_CPU), *command]
    cpu = ServiceCpu.seconds()
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = ServiceCpu.seconds() - cpu
    Path(script).unlink()
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    elapsed = float(re.search(r"requests in ([\d.]+)s", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    ok = total - (int(bad.group(1)) if bad else 0)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    return {
        "per_s": round(ok / elapsed, 1),
        "p99_ms": round(p99_ms, 1),
        "failed": total - ok,
    } | ServiceCpu.figures(cpu, elapsed, ok)


def wrk_rate(
    url: str, *, seconds: float, connections: int, body: str = "", auth: str = ""
) -> dict[str, float]:
    """Requests/s (2xx only) and p99 from wrk, a C load generator pinned to the load core: the
    Python generator's own ceiling is low on a busy 2-core machine (see healthz_per_s)."""

    lua = ['wrk.method = "GET"']
    if body:
        lua = [
            'wrk.method = "POST"',
            f'wrk.body = "{body}"',
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"',
        ]
    if auth:
        lua.append(f'wrk.headers["Authorization"] = "{auth}"')
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lua) + "\n")
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(int(seconds), 1)}s",
        "--latency",
        "-s",
        script.name,
        url,
    ]
    return run_wrk(command, script.name)


REFRESH_LUA = """
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("chain", counter)
end
function init(args)
  token = args[chain]
  auth = args[#args]
end
function request()
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = auth}, "grant_type=refresh_token&refresh_token=" .. token)
end
function response(status, headers, body)
  if status == 200 then
    local next_token = body:match('"refresh_token":"([^"]+)"')
    if next_token then token = next_token end
  end
end
"""


def wrk_refresh(url: str, tokens: list[str], auth: str, *, seconds: float) -> dict[str, float]:

    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(REFRESH_LUA)
    n = len(tokens)
    command = ["wrk", f"-t{n}", f"-c{n}", f"-d{max(int(seconds), 1)}s", "--latency", "-s",
               script.name, url, "--", *tokens, auth]  # fmt: skip
    return run_wrk(command, script.name)


async def verifications(issuer: str, token: str, seconds: float) -> float:
    """The shared helper as every resource service runs it: JWKS fetched once, then local."""
    verifier = TokenVerifier(issuer, audience="ciam")
    try:
        await verifier.verify(token)
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            verifier.verify_cached(token)
            count += 1
        return count / (time.perf_counter() - start)
    finally:
        await verifier.aclose()


async def main(args: argparse.Namespace, kafka: str, redis: str, postgres: str) -> dict[str, Any]:
    factory = DatabaseFactory(postgres)
    db_url = await factory.create("ciam_auth.migrations")
    env = {
        "AUTH_DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "REDIS_URL": redis,
        "KAFKA_TOPIC_PREFIX": f"abench{secrets.token_hex(3)}.",
        "CIAM_ENVIRONMENT": "test",
        "AUTH_MIGRATE_ON_START": "false",
        "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
        "AUTH_LOG_LEVEL": "WARNING",
        # One load generator is one client address: lift the per-client limits for it.
        "AUTH_THROTTLE_CLIENT_LIMIT": str(10**9),
        "AUTH_THROTTLE_REQUESTS_PER_CLIENT": str(10**9),
        "AUTH_THROTTLE_PAIR_FREE": str(10**9),
        "AUTH_THROTTLE_ACCOUNT_FREE": str(10**9),
    }
    service = ServiceProcess("auth", env, Path(tempfile.mkdtemp()))
    service.env |= {"AUTH_ISSUER": service.url}
    if shutil.which("taskset"):
        service.command_prefix = ["taskset", "-c", str(SERVICE_CPU)]
    service.start()
    ServiceCpu.pid = service.proc.proc.pid  # taskset execs the interpreter: the same pid
    cli_env = service.env
    result: dict[str, Any] = {
        "seconds_per_figure": args.seconds,
        "concurrency": args.concurrency,
        "load_average_start": round(os.getloadavg()[0], 2),
        "server_cpus": server_cpus(),
    }
    try:
        machine = await _client(cli_env, "--grant", "client_credentials", "--scope", "consent:read")
        basic = httpx.BasicAuth(machine["client_id"], machine["client_secret"])
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as http:

            async def health(_: int) -> bool:
                return (await http.get("/healthz")).status_code == 200

            # The ceiling of this load generator and the HTTP stack: an endpoint doing nothing.
            rate, _ = await throughput(health, seconds=args.seconds, concurrency=args.concurrency)
            result["healthz_per_s"] = round(rate, 1)

            async def grant(_: int) -> bool:
                response = await http.post(
                    "/token", data={"grant_type": "client_credentials"}, auth=basic
                )
                return response.status_code == 200

            rate, latencies = await throughput(
                grant, seconds=args.seconds, concurrency=args.concurrency
            )
            result["client_credentials_per_s"] = round(rate, 1)
            result["python_client_credentials_per_s"] = round(rate, 1)
            result["client_credentials_p99_ms"] = round(percentile(latencies, 99), 1)
            result["python_client_credentials_p99_ms"] = result["client_credentials_p99_ms"]
            token = (
                await http.post("/token", data={"grant_type": "client_credentials"}, auth=basic)
            ).json()["access_token"]

            async def introspect(_: int) -> bool:
                response = await http.post("/introspect", data={"token": token}, auth=basic)
                return response.status_code == 200 and response.json()["active"] is True

            rate, latencies = await throughput(
                introspect, seconds=args.seconds, concurrency=args.concurrency
            )
            result["introspect_per_s"] = round(rate, 1)
            result["python_introspect_per_s"] = round(rate, 1)
            result["introspect_p99_ms"] = round(percentile(latencies, 99), 1)
            result["python_introspect_p99_ms"] = result["introspect_p99_ms"]
            result["verify_per_s"] = round(await verifications(service.url, token, args.seconds), 1)
            if shutil.which("wrk"):
                import base64

                basic_header = (
                    "Basic "
                    + base64.b64encode(
                        f"{machine['client_id']}:{machine['client_secret']}".encode()
                    ).decode()
                )
                wrk = {
                    "healthz": wrk_rate(
                        f"{service.url}/healthz", seconds=args.seconds, connections=args.concurrency
                    ),
                    "client_credentials": wrk_rate(
                        f"{service.url}/token",
                        seconds=args.seconds,
                        connections=args.concurrency,
                        body="grant_type=client_credentials",
                        auth=basic_header,
                    ),
                    "introspect": wrk_rate(
                        f"{service.url}/introspect",
                        seconds=args.seconds,
                        connections=args.concurrency,
                        body=f"token={token}",
                        auth=basic_header,
                    ),
                }
                result["wrk"] = wrk
                for name in ("client_credentials", "introspect"):
                    result[f"{name}_per_s"] = wrk[name]["per_s"]
                    result[f"{name}_p99_ms"] = wrk[name]["p99_ms"]
                    if "cpu_ms" in wrk[name]:
                        result[f"{name}_cpu_ms"] = wrk[name]["cpu_ms"]
        result.update(await refreshes(service.url, cli_env, redis, args))
        # The raw hash rate on the service's core (idle service), half the window just before
        # the logins and half just after: the two figures of the ratio in the same conditions.
        before = hashes_per_second(args.seconds / 2, SERVICE_CPU)
        result.update(await logins(service.url, db_url, args))
        after = hashes_per_second(args.seconds / 2, SERVICE_CPU)
        result.update(await passkey_sign_ins(service.url, db_url, args))
        result["hash_per_s"] = round((before[0] + after[0]) / 2, 1)
        result["hash_cpu_ms"] = round((before[1] + after[1]) / 2, 3)
        result["hash_per_s_before_after"] = [round(before[0], 1), round(after[0], 1)]
    finally:
        service.stop()
        await factory.drop(db_url)
    result["load_average_end"] = round(os.getloadavg()[0], 2)
    result["login_to_hash_ratio"] = (
        round(result["login_per_s"] / result["hash_per_s"], 3) if "login_per_s" in result else None
    )
    if result.get("login_cpu_ms"):
        # The same ratio from CPU time: what one core doing nothing else would give.
        result["login_to_hash_cpu_ratio"] = round(result["hash_cpu_ms"] / result["login_cpu_ms"], 3)
    write_result("auth", result)
    return result


async def refreshes(
    url: str, env: dict[str, str], redis_url: str, args: argparse.Namespace
) -> dict[str, Any]:
    """One refresh chain per concurrent worker: each refresh spends the token it uses."""
    app, chains = await refresh_chains(url, env, redis_url, args.concurrency)
    basic = httpx.BasicAuth(app["client_id"], app["client_secret"])
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:

        async def refresh(n: int) -> bool:
            response = await http.post(
                "/token",
                data={"grant_type": "refresh_token", "refresh_token": chains[n]},
                auth=basic,
            )
            if response.status_code != 200:
                return False
            chains[n] = response.json()["refresh_token"]
            return True

        rate, latencies = await throughput(
            refresh, seconds=args.seconds, concurrency=args.concurrency
        )
        if shutil.which("wrk"):
            # The same chains under wrk: one thread and one connection per chain, each thread
            # sending the refresh token the previous answer gave it.
            basic_header = (
                "Basic "
                + base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
            )
            figures = wrk_refresh(f"{url}/token", chains, basic_header, seconds=args.seconds)
            return {
                "refresh_per_s": figures["per_s"],
                "refresh_p99_ms": figures["p99_ms"],
                "refresh_cpu_ms": figures.get("cpu_ms"),
                "refresh_service_busy": figures.get("busy"),
                "python_refresh_per_s": round(rate, 1),
            }
    return {"refresh_per_s": round(rate, 1), "refresh_p99_ms": round(percentile(latencies, 99), 1)}


async def refresh_chains(
    url: str, env: dict[str, str], redis_url: str, count: int, app: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """A first-party client with the refresh grant (`app`, else a new one), and `count` refresh
    tokens of as many signed-in customers (each the start of a rotation chain)."""
    import hashlib
    from urllib.parse import parse_qs, urlsplit

    import redis.asyncio as aioredis

    from ciam_auth.sessions.store import COOKIE, SessionStore

    app = app or await _client(
        env, "--first-party", "--redirect-uri", "https://rp.example/cb", "--scope", "openid",
        "--scope", "offline_access", "--grant", "authorization_code", "--grant", "refresh_token",
    )  # fmt: skip
    basic = httpx.BasicAuth(app["client_id"], app["client_secret"])
    store_redis = aioredis.from_url(redis_url)
    chains: list[str] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for _ in range(count):
            # A signed-in browser, as the login page leaves it (sessions are the login's job).
            account, _ = await _account(env["AUTH_DATABASE_URL"])
            store = SessionStore(
                store_redis,
                idle_seconds=3600,
                absolute_seconds=3600,
                prefix=f"auth:{env['KAFKA_TOPIC_PREFIX']}",
            )
            session = await store.create(account, device="bench", channel="web", amr=["pwd"])
            verifier = secrets.token_urlsafe(48)
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                .rstrip(b"=")
                .decode()
            )
            response = await http.get(
                "/authorize",
                params={"client_id": app["client_id"], "redirect_uri": "https://rp.example/cb",
                        "response_type": "code", "scope": "openid offline_access",
                        "code_challenge": challenge, "code_challenge_method": "S256"},
                cookies={COOKIE: session.secret},
            )  # fmt: skip
            code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
            tokens = await http.post(
                "/token",
                data={"grant_type": "authorization_code", "code": code,
                      "redirect_uri": "https://rp.example/cb", "code_verifier": verifier},
                auth=basic,
            )  # fmt: skip
            assert tokens.status_code == 200, tokens.text
            chains.append(tokens.json()["refresh_token"])
    await store_redis.aclose()
    return app, chains


async def _account(db_url: str) -> tuple[Any, str]:
    """A registered customer with a confirmed address, written straight to the database (the
    registration flow mails a code; the benchmark measures sign-ins, not mail)."""
    import uuid

    from sqlalchemy import text

    from ciam_shared.db import create_engine

    account_id = uuid.uuid4()
    email = f"bench-{account_id.hex[:12]}@example.com"
    engine = create_engine(db_url)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO accounts (id, email, password_hash, created_at, email_verified_at)"
                " VALUES (:id, :email, :hash, now(), now())"
            ),
            {
                "id": account_id,
                "email": email,
                "hash": HASHER.hash(PASSWORD),
            },
        )
    await engine.dispose()
    return account_id, email


async def logins(url: str, db_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Password sign-ins over POST /v1/sessions, one account per concurrent worker, each
    request a new browser (no session cookie kept)."""
    addresses = [(await _account(db_url))[1] for _ in range(args.concurrency)]
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:

        async def login(n: int) -> bool:
            response = await http.post(
                "/v1/sessions", json={"email": addresses[n], "password": PASSWORD}
            )
            http.cookies.clear()
            return response.status_code == 200

        cpu, wall = ServiceCpu.seconds(), time.perf_counter()
        argon2 = ServiceCpu.worker_seconds()
        rate, latencies = await throughput(
            login, seconds=args.seconds, concurrency=args.concurrency
        )
        cpu, wall = ServiceCpu.seconds() - cpu, time.perf_counter() - wall
        argon2 = ServiceCpu.worker_seconds() - argon2
    logins_done = round(rate * wall)
    figures = ServiceCpu.figures(cpu, wall, logins_done)
    return {
        "login_per_s": round(rate, 1),
        "login_p99_ms": round(percentile(latencies, 99), 1),
        # A login's CPU time in the service includes its argon2id verification.
        "login_cpu_ms": figures.get("cpu_ms"),
        # Of which the worker threads: the argon2id verification; the rest is the event loop.
        "login_argon2_cpu_ms": round(argon2 * 1000 / logins_done, 3) if logins_done else None,
        "login_service_busy": figures.get("busy"),
    }


async def passkey_sign_ins(url: str, db_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Passkey sign-ins: one account and one browser (cookie jar, CSRF token) per concurrent
    worker, each with a passkey registered through the API first; the session cookie of each
    sign-in is dropped (a new sign-in each time, as for the password logins)."""
    import re

    from ciam_devtools.testing.webauthn import SoftAuthenticator

    # The service sets Secure cookies (not development) and this is plain http on loopback:
    # each browser keeps its cookies itself and sends them in the Cookie header.
    browsers: list[tuple[httpx.AsyncClient, SoftAuthenticator, dict[str, str]]] = []

    def header(cookies: dict[str, str]) -> dict[str, str]:
        return {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}

    for _ in range(args.concurrency):
        _, email = await _account(db_url)
        http = httpx.AsyncClient(base_url=url, timeout=60)
        key = SoftAuthenticator(origin=url)
        signed_in = await http.post("/v1/sessions", json={"email": email, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        cookies = dict(signed_in.cookies.items())
        options = (await http.post("/v1/me/passkeys/options", headers=header(cookies))).json()
        added = await http.post(
            "/v1/me/passkeys", json={"credential": key.create(options)}, headers=header(cookies)
        )
        assert added.status_code == 201, added.text
        page = await http.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        browsers.append(
            (http, key, {"ciam_csrf": page.cookies["ciam_csrf"], "csrf": csrf.group(1)})
        )

    async def sign_in(n: int) -> bool:
        http, key, state = browsers[n]
        options = (await http.post("/v1/passkeys/sign-in/options")).json()
        response = await http.post(
            "/v1/passkeys/sign-in",
            json={"credential": key.get(options), "csrf": state["csrf"]},
            headers=header({"ciam_csrf": state["ciam_csrf"]}),
        )
        return response.status_code == 200

    try:
        cpu, wall = ServiceCpu.seconds(), time.perf_counter()
        rate, latencies = await throughput(
            sign_in, seconds=args.seconds, concurrency=args.concurrency
        )
        cpu, wall = ServiceCpu.seconds() - cpu, time.perf_counter() - wall
    finally:
        for http, _, _ in browsers:
            await http.aclose()
    figures = ServiceCpu.figures(cpu, wall, round(rate * wall))
    return {
        "passkey_sign_in_per_s": round(rate, 1),
        "passkey_sign_in_p99_ms": round(percentile(latencies, 99), 1),
        # Both requests of a sign-in, in the service (the assertion's ES256 verification too).
        "passkey_sign_in_cpu_ms": figures.get("cpu_ms"),
        "passkey_sign_in_service_busy": figures.get("busy"),
    }


async def _client(env: dict[str, str], *args: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ciam_auth.cli", "create-client", "--name", "bench", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(err.decode())
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    arguments = parser.parse_args()
    pin_to_load_cpu()
    run(main, arguments)
