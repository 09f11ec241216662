"""Before / after for the auth service: two versions side by side, in alternating rounds.

    .venv/bin/python bench/auth_ab.py --base /work/wt/keycloak-base [--rounds 3]
        -> bench/results/auth_ab.json

`--base` is a worktree of the older commit (`git worktree add <dir> <commit> --detach`): its
service runs from this venv with the worktree's `services/auth` and `shared` first on
PYTHONPATH. Both services run at once, pinned to CPU 0, on one PostgreSQL, Redis and Kafka
(CPU 1, with the load), as `bench/auth.py` runs one; each figure alternates between the two
(base, head, then head, base, ...) so the shared machine's load falls on both. Per side, the
medians of the rounds: logins per second with the raw hash rate around them (login/hash),
the CPU per login and its event-loop part (all threads less the argon2 pool's), and the CPU
per client-credentials grant, introspection and refresh with what one core could sustain
(1000 / cpu_ms). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from auth import (
    SERVICE_CPU,
    _client,
    hashes_per_second,
    logins,
    pin_to_load_cpu,
    refresh_chains,
    wrk_rate,
    wrk_refresh,
)
from common import run, write_result
from keycloak import Side, alternate, basic_header, summary

from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess

Measure = Callable[[float], Awaitable[dict[str, Any]]]


def service_env(db_url: str, kafka: str, redis: str) -> dict[str, str]:
    return {
        "AUTH_DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "REDIS_URL": redis,
        "KAFKA_TOPIC_PREFIX": f"ab{secrets.token_hex(3)}.",
        "CIAM_ENVIRONMENT": "test",
        "AUTH_MIGRATE_ON_START": "false",
        "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
        "AUTH_LOG_LEVEL": "WARNING",
        "AUTH_THROTTLE_CLIENT_LIMIT": str(10**9),
        "AUTH_THROTTLE_REQUESTS_PER_CLIENT": str(10**9),
        "AUTH_THROTTLE_PAIR_FREE": str(10**9),
        "AUTH_THROTTLE_ACCOUNT_FREE": str(10**9),
    }


async def measures(
    service: ServiceProcess, db_url: str, redis: str, args: argparse.Namespace
) -> dict[str, Measure]:
    machine = await _client(service.env, "--grant", "client_credentials", "--scope", "consent:read")
    basic = basic_header(machine["client_id"], machine["client_secret"])
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(
            f"{service.url}/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic},
        )
        token = answer.json()["access_token"]
    app: dict[str, Any] = {}

    async def login(seconds: float) -> dict[str, Any]:
        before = hashes_per_second(seconds / 2, SERVICE_CPU)
        window = argparse.Namespace(seconds=seconds, concurrency=args.concurrency)
        figures = await logins(service.url, db_url, window)
        after = hashes_per_second(seconds / 2, SERVICE_CPU)
        hash_per_s = (before[0] + after[0]) / 2
        loop = figures["login_cpu_ms"] - figures["login_argon2_cpu_ms"]
        return {
            "per_s": figures["login_per_s"],
            "cpu_ms": figures["login_cpu_ms"],
            "loop_cpu_ms": round(loop, 3),
            "argon2_cpu_ms": figures["login_argon2_cpu_ms"],
            "busy": figures["login_service_busy"],
            "hash_per_s": round(hash_per_s, 1),
            "hash_cpu_ms": round((before[1] + after[1]) / 2, 3),
            "login_to_hash": round(figures["login_per_s"] / hash_per_s, 3),
            "login_to_hash_cpu": round((before[1] + after[1]) / 2 / figures["login_cpu_ms"], 3),
        }

    def wrk(path: str, body: str) -> Measure:
        async def measure(seconds: float) -> dict[str, Any]:
            figures = wrk_rate(f"{service.url}{path}", seconds=seconds,
                               connections=args.concurrency, body=body, auth=basic)  # fmt: skip
            return figures | per_core(figures)

        return measure

    async def refresh(seconds: float) -> dict[str, Any]:
        made, chains = await refresh_chains(
            service.url, service.env, redis, args.concurrency, app or None
        )
        app.update(made)
        auth = basic_header(made["client_id"], made["client_secret"])
        figures = wrk_refresh(f"{service.url}/token", chains, auth, seconds=seconds)
        return figures | per_core(figures)

    return {
        "client_credentials": wrk("/token", "grant_type=client_credentials"),
        "introspect": wrk("/introspect", f"token={token}"),
        "refresh": refresh,
        "login": login,
    }


def per_core(figures: dict[str, Any]) -> dict[str, Any]:
    cpu = figures.get("cpu_ms")
    return {"per_core_s": round(1000 / cpu, 1)} if cpu else {}


async def main(args: argparse.Namespace, kafka: str, redis: str, postgres: str) -> dict[str, Any]:
    factory = DatabaseFactory(postgres)
    base_root = args.base
    sides: list[tuple[str, ServiceProcess, str]] = []
    for name in ("base", "head"):
        db_url = await factory.create("ciam_auth.migrations")
        env = service_env(db_url, kafka, redis)
        if name == "base":
            paths = [base_root / "services" / "auth", base_root / "shared"]
            env["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
        service = ServiceProcess("auth", env, Path(tempfile.mkdtemp()))
        service.env |= {"AUTH_ISSUER": service.url}
        if shutil.which("taskset"):
            service.command_prefix = ["taskset", "-c", str(SERVICE_CPU)]
        sides.append((name, service, db_url))
    result: dict[str, Any] = {
        "base": str(base_root),
        "rounds": args.rounds,
        "seconds_per_round": args.seconds,
        "load_average_start": round(os.getloadavg()[0], 2),
    }
    try:
        for _, service, _ in sides:
            service.start()
        plans = {name: await measures(s, db, redis, args) for name, s, db in sides}
        drivers = {
            name: Side(name, lambda s=service: int(s.proc.proc.pid))  # type: ignore[misc]
            for name, service, _ in sides
        }
        for figure in args.figures:
            await alternate(
                figure,
                [(drivers[name], plans[name][figure]) for name, _, _ in sides],
                rounds=args.rounds,
                seconds=args.seconds,
                warmup=args.warmup,
            )
    finally:
        for _, service, db_url in sides:
            service.stop()
            await factory.drop(db_url)
    result["load_average_end"] = round(os.getloadavg()[0], 2)
    for figure in args.figures:
        result[figure] = {name: summary(drivers[name].rounds[figure]) for name, _, _ in sides}
    write_result("auth_ab", result)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="a worktree of the older commit")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--figures", nargs="+", default=["login", "client_credentials", "introspect", "refresh"]
    )
    arguments = parser.parse_args()
    arguments.base = Path(arguments.base).resolve()
    pin_to_load_cpu()
    run(main, arguments)
