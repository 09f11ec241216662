"""Our auth service and Keycloak side by side, in one run, per core.

    make bench-keycloak    -> bench/results/keycloak.json

Both servers run at once, each pinned to CPU 0 with `taskset`, on the same local PostgreSQL
(each its own database), with the load generator, PostgreSQL, Redis and Kafka on CPU 1, as
`bench/auth.py` does. Each figure is measured in rounds that alternate between the two (ours,
Keycloak, then Keycloak, ours, ...), after a short warm-up of both, so a change in the shared
machine's load falls on both sides; the figure is the median of the rounds. The load
generators are bench/auth.py's: wrk for client credentials, introspection and refresh chains
(16 connections; each refresh rotates, the next uses the new token), the Python generator (16
concurrent requests) for password logins. Keycloak's setup is `bench/keycloak_setup.py`.

- client_credentials, introspect (a client-credentials access token), refresh: 2xx per second;
- login: password logins answered 200 per second: ours `POST /v1/sessions` (a new browser
  each: a session in Redis, the sign-in event in the outbox), Keycloak's direct grant
  (`grant_type=password`: a user session and tokens in one request);
- hash: raw argon2id hashes per second on the service's core, one thread, with each side's
  own implementation (argon2-cffi's C for ours; BouncyCastle in the JVM, the code Keycloak's
  provider runs, `bench/Argon2Rate.java`), half the window before each login round and half
  after; login_to_hash is each side's login rate over its own hash rate;
- rss_mb: resident memory after the rounds (and the peak, VmHWM);
- ready_s: from the process start to its readiness answer (ours `/readyz`, Keycloak's
  `/health/ready` on its management port): `cold` on an empty database (our migrations,
  Keycloak's schema), `restart` on the database the cold start left.

`ratio` is ours / Keycloak for each figure (above 1: ours is faster, or for RSS and time to
ready, bigger and slower).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import keycloak_setup as kc_setup
from auth import (
    LOAD_CPU,
    PASSWORD,
    SERVICE_CPU,
    ServiceCpu,
    _client,
    hashes_per_second,
    logins,
    pin_to_load_cpu,
    refresh_chains,
    server_cpus,
    throughput,
    wrk_rate,
    wrk_refresh,
)
from common import RESULTS, percentile, run, write_result

from ciam_devtools.devstack import ManagedProcess, free_port
from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess

HERE = Path(__file__).resolve().parent


def basic_header(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def rss_mb(pid: int) -> dict[str, float]:
    """Resident memory now and at its peak (VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = {line.split(":")[0]: line.split()[1] for line in status if line.startswith("Vm")}
    return {
        "rss_mb": round(int(fields["VmRSS"]) / 1024, 1),
        "peak_mb": round(int(fields["VmHWM"]) / 1024, 1),
    }


def descendant(root: int, name: str) -> int:
    """The first process named `name` among `root` and its descendants."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            comm, rest = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid], names[pid] = int(rest.split()[1]), comm.split("(", 1)[1]
    for pid in sorted(names):
        chain = pid
        while chain > 1:
            if chain == root:
                if names[pid] == name:
                    return pid
                break
            chain = parents.get(chain, 0)
    raise LookupError(f"no {name} process under {root}")


class Keycloak:
    """The Keycloak server, pinned to the service's core."""

    def __init__(self, home: Path, database_url: str, workdir: Path) -> None:
        self.home, self.database_url, self.workdir = home, database_url, workdir
        self.port, self.management_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_password = secrets.token_urlsafe(18)
        self.client_secret = secrets.token_urlsafe(24)
        self.proc: ManagedProcess | None = None
        realm = f"{self.url}/realms/{kc_setup.REALM}/protocol/openid-connect"
        self.token_url, self.introspect_url = f"{realm}/token", f"{realm}/token/introspect"
        self.basic = basic_header(kc_setup.CLIENT_ID, self.client_secret)

    def _ready(self) -> bool:
        url = f"http://127.0.0.1:{self.management_port}/health/ready"
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)

    def start(self) -> float:
        prefix = ["taskset", "-c", str(SERVICE_CPU)] if shutil.which("taskset") else []
        options = kc_setup.start_options(
            database_url=self.database_url,
            http_port=self.port,
            management_port=self.management_port,
        )
        started = time.perf_counter()
        self.proc = ManagedProcess(
            "keycloak",
            [*prefix, str(self.home / "bin" / "kc.sh"), *options],
            log_path=self.workdir / "keycloak.log",
            env=os.environ | kc_setup.environment(self.admin_password),
            cwd=self.workdir,
        ).start()
        self.proc.wait_until(self._ready, timeout=600, what="Keycloak's /health/ready")
        return time.perf_counter() - started

    @property
    def pid(self) -> int:
        """The JVM's pid: kc.sh (which taskset execs) starts it as a child and waits."""
        assert self.proc is not None and self.proc.pid is not None
        return descendant(self.proc.pid, "java")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(timeout=60)

    async def create_realm(self, users: int) -> dict[str, Any]:
        """The bench realm through the admin REST API; returns what Keycloak stored for one
        user's password (the hash parameters) to show the argon2id settings took."""
        async with httpx.AsyncClient(base_url=self.url, timeout=120) as http:
            admin = {"grant_type": "password", "client_id": "admin-cli",
                     "username": "admin", "password": self.admin_password}  # fmt: skip
            answer = await http.post("/realms/master/protocol/openid-connect/token", data=admin)
            token = answer.json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            representation = kc_setup.realm(
                client_secret=self.client_secret, users=users, password=PASSWORD
            )
            answer = await http.post("/admin/realms", json=representation, headers=headers)
            answer.raise_for_status()
            answer = await http.post(
                f"/admin/realms/{kc_setup.REALM}/components",
                json=kc_setup.ecdsa_key(),
                headers=headers,
            )
            answer.raise_for_status()
            found = (
                await http.get(
                    f"/admin/realms/{kc_setup.REALM}/users",
                    params={"username": "bench0", "exact": "true"},
                    headers=headers,
                )
            ).json()
            credentials = (
                await http.get(
                    f"/admin/realms/{kc_setup.REALM}/users/{found[0]['id']}/credentials",
                    headers=headers,
                )
            ).json()
            return dict(json.loads(credentials[0]["credentialData"]))


def java_hash_rate(home: Path, seconds: float) -> tuple[float, float]:
    """Keycloak's argon2id (BouncyCastle) in one JVM thread pinned to the service's core."""
    params = kc_setup.argon2()
    prefix = ["taskset", "-c", str(SERVICE_CPU)] if shutil.which("taskset") else []
    out = subprocess.run(
        [*prefix, f"{kc_setup.JAVA_HOME}/bin/java", "-cp", str(kc_setup.bouncycastle(home)),
         str(HERE / "Argon2Rate.java"), str(seconds), str(params["memory_kib"]),
         str(params["iterations"]), str(params["parallelism"])],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    figures = json.loads(out.strip().splitlines()[-1])
    return float(figures["per_s"]), float(figures["cpu_ms"])


def token_alg(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["alg"])


class Side:
    """One of the two servers as the rounds drive it."""

    def __init__(self, name: str, pid: Callable[[], int]) -> None:
        self.name, self._pid = name, pid
        self.rounds: dict[str, list[dict[str, Any]]] = {}

    def measure(self) -> None:
        ServiceCpu.pid = self._pid()

    def record(self, figure: str, values: dict[str, Any]) -> None:
        self.rounds.setdefault(figure, []).append(values)


def summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each numeric value over the rounds, and the rounds themselves."""
    keys = [k for k, v in rounds[0].items() if isinstance(v, int | float)]
    out: dict[str, Any] = {}
    for key in keys:
        values = [r[key] for r in rounds if isinstance(r.get(key), int | float)]
        if values:
            out[key] = round(statistics.median(values), 3)
    out["rounds"] = rounds
    return out


def compare(
    ours: dict[str, list[dict[str, Any]]],
    keycloak: dict[str, list[dict[str, Any]]],
    ready: dict[str, dict[str, float]],
    memory: dict[str, dict[str, float]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each figure for both sides (medians of the rounds) with the ratio ours / Keycloak, and
    the rounds' summaries."""
    for side in (ours, keycloak):
        for one in side.get("login", []):
            if one.get("hash_per_s"):  # each side's logins over its own raw hash rate
                one["login_to_hash"] = round(one["per_s"] / one["hash_per_s"], 3)

    def both(ours_value: float | None, kc_value: float | None) -> dict[str, Any]:
        ratio = round(ours_value / kc_value, 3) if ours_value and kc_value else None
        return {"ours": ours_value, "keycloak": kc_value, "ratio": ratio}

    figures: dict[str, Any] = {}
    per_round: dict[str, Any] = {}
    for figure in ("client_credentials", "introspect", "refresh", "login"):
        mine, theirs = summary(ours[figure]), summary(keycloak[figure])
        figures[f"{figure}_per_s"] = both(mine.get("per_s"), theirs.get("per_s"))
        figures[f"{figure}_p99_ms"] = both(mine.get("p99_ms"), theirs.get("p99_ms"))
        figures[f"{figure}_cpu_ms"] = both(mine.get("cpu_ms"), theirs.get("cpu_ms"))
        per_round[figure] = {"ours": mine, "keycloak": theirs}
    login = per_round["login"]
    figures["hash_per_s"] = both(
        login["ours"].get("hash_per_s"), login["keycloak"].get("hash_per_s")
    )
    figures["hash_cpu_ms"] = both(
        login["ours"].get("hash_cpu_ms"), login["keycloak"].get("hash_cpu_ms")
    )
    figures["login_to_hash_ratio"] = both(
        login["ours"].get("login_to_hash"), login["keycloak"].get("login_to_hash")
    )
    figures["rss_mb"] = both(memory["ours"]["rss_mb"], memory["keycloak"]["rss_mb"])
    figures["peak_rss_mb"] = both(memory["ours"]["peak_mb"], memory["keycloak"]["peak_mb"])
    for kind in ("cold", "restart"):
        figures[f"ready_{kind}_s"] = both(
            round(ready["ours"][kind], 2), round(ready["keycloak"][kind], 2)
        )
    return figures, per_round


async def alternate(
    figure: str,
    sides: list[tuple[Side, Callable[[float], Awaitable[dict[str, Any]]]]],
    *,
    rounds: int,
    seconds: float,
    warmup: float,
) -> None:
    for side, measure in sides:  # warm-up (the JIT, pools, caches), not recorded
        side.measure()
        await measure(warmup)
    for n in range(rounds):
        order = sides if n % 2 == 0 else sides[::-1]
        for side, measure in order:
            side.measure()
            side.record(figure, await measure(seconds))
        print(f"{figure} round {n + 1}/{rounds} done", flush=True)


async def main(args: argparse.Namespace, kafka: str, redis: str, postgres: str) -> dict[str, Any]:
    home = kc_setup.distribution()
    factory = DatabaseFactory(postgres)
    workdir = Path(tempfile.mkdtemp(prefix="bench-keycloak-"))
    kc_db, our_db = await factory.create_empty(), await factory.create_empty()
    keycloak = Keycloak(home, kc_db, workdir)
    env = {
        "AUTH_DATABASE_URL": our_db,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "REDIS_URL": redis,
        "KAFKA_TOPIC_PREFIX": f"kbench{secrets.token_hex(3)}.",
        "CIAM_ENVIRONMENT": "test",
        "AUTH_MIGRATE_ON_START": "true",  # the cold start migrates the empty database
        "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
        "AUTH_LOG_LEVEL": "WARNING",
        # One load generator is one client address: lift the per-client limits for it.
        "AUTH_THROTTLE_CLIENT_LIMIT": str(10**9),
        "AUTH_THROTTLE_REQUESTS_PER_CLIENT": str(10**9),
        "AUTH_THROTTLE_PAIR_FREE": str(10**9),
        "AUTH_THROTTLE_ACCOUNT_FREE": str(10**9),
    }
    ours = ServiceProcess("auth", env, workdir)
    ours.env |= {"AUTH_ISSUER": ours.url}
    if shutil.which("taskset"):
        ours.command_prefix = ["taskset", "-c", str(SERVICE_CPU)]

    def start_ours() -> float:
        started = time.perf_counter()
        ours.start(timeout=300)
        return time.perf_counter() - started

    result: dict[str, Any] = {
        "keycloak_version": kc_setup.VERSION,
        "java_home": kc_setup.JAVA_HOME,
        "seconds_per_round": args.seconds,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "service_cpu": SERVICE_CPU,
        "load_cpu": LOAD_CPU,
        "load_average_start": round(os.getloadavg()[0], 2),
        "argon2": kc_setup.argon2(),
        "keycloak_password_policy": kc_setup.password_policy(),
    }
    ready: dict[str, dict[str, float]] = {"ours": {}, "keycloak": {}}
    try:
        # Time to ready, alternating: cold starts on empty databases, then restarts.
        ready["keycloak"]["cold"] = keycloak.start()
        result["keycloak_stored_hash"] = await keycloak.create_realm(args.concurrency)
        ready["ours"]["cold"] = start_ours()
        keycloak.stop()
        ready["keycloak"]["restart"] = keycloak.start()
        ours.stop()
        ready["ours"]["restart"] = start_ours()
        result["server_cpus"] = server_cpus()
        print(f"ready: {ready}", flush=True)

        our_sides = Side("ours", lambda: int(ours.proc.proc.pid))
        kc_side = Side("keycloak", lambda: keycloak.pid)
        machine = await _client(
            ours.env, "--grant", "client_credentials", "--scope", "consent:read"
        )
        our_basic = basic_header(machine["client_id"], machine["client_secret"])
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.post(
                f"{ours.url}/token", data={"grant_type": "client_credentials"},
                headers={"Authorization": our_basic},
            )  # fmt: skip
            our_token = answer.json()["access_token"]
            answer = await http.post(
                keycloak.token_url, data={"grant_type": "client_credentials"},
                headers={"Authorization": keycloak.basic},
            )  # fmt: skip
            kc_token = answer.json()["access_token"]
            answer = await http.post(
                keycloak.introspect_url, data={"token": kc_token},
                headers={"Authorization": keycloak.basic},
            )  # fmt: skip
            assert answer.json()["active"] is True, answer.text
        result["token_alg"] = {"ours": token_alg(our_token), "keycloak": token_alg(kc_token)}

        def wrk(url: str, body: str, auth: str) -> Callable[[float], Awaitable[dict[str, Any]]]:
            async def measure(seconds: float) -> dict[str, Any]:
                return wrk_rate(url, seconds=seconds, connections=args.concurrency, body=body,
                                auth=auth)  # fmt: skip

            return measure

        common = {"rounds": args.rounds, "seconds": args.seconds, "warmup": args.warmup}
        await alternate(
            "client_credentials",
            [(our_sides, wrk(f"{ours.url}/token", "grant_type=client_credentials", our_basic)),
             (kc_side, wrk(keycloak.token_url, "grant_type=client_credentials", keycloak.basic))],
            **common,
        )  # fmt: skip
        await alternate(
            "introspect",
            [(our_sides, wrk(f"{ours.url}/introspect", f"token={our_token}", our_basic)),
             (kc_side, wrk(keycloak.introspect_url, f"token={kc_token}", keycloak.basic))],
            **common,
        )  # fmt: skip

        our_app: dict[str, Any] = {}

        async def our_refresh(seconds: float) -> dict[str, Any]:
            app, chains = await refresh_chains(
                ours.url, ours.env, redis, args.concurrency, our_app or None
            )
            our_app.update(app)
            auth = basic_header(app["client_id"], app["client_secret"])
            our_sides.measure()  # the chains' set-up ran in between: the pid stays
            return wrk_refresh(f"{ours.url}/token", chains, auth, seconds=seconds)

        async def kc_refresh(seconds: float) -> dict[str, Any]:
            chains = []
            async with httpx.AsyncClient(timeout=60) as http:
                for n in range(args.concurrency):
                    answer = await http.post(
                        keycloak.token_url,
                        data={"grant_type": "password", "username": f"bench{n}",
                              "password": PASSWORD, "scope": "openid"},
                        headers={"Authorization": keycloak.basic},
                    )  # fmt: skip
                    assert answer.status_code == 200, answer.text
                    chains.append(answer.json()["refresh_token"])
            return wrk_refresh(keycloak.token_url, chains, keycloak.basic, seconds=seconds)

        await alternate("refresh", [(our_sides, our_refresh), (kc_side, kc_refresh)], **common)

        async def our_login(seconds: float) -> dict[str, Any]:
            before = hashes_per_second(seconds / 2, SERVICE_CPU)
            figures = await logins(ours.url, our_db, argparse.Namespace(
                seconds=seconds, concurrency=args.concurrency))  # fmt: skip
            after = hashes_per_second(seconds / 2, SERVICE_CPU)
            return {
                "per_s": figures["login_per_s"],
                "p99_ms": figures["login_p99_ms"],
                "cpu_ms": figures["login_cpu_ms"],
                "busy": figures["login_service_busy"],
                "argon2_cpu_ms": figures["login_argon2_cpu_ms"],
                "hash_per_s": round((before[0] + after[0]) / 2, 1),
                "hash_cpu_ms": round((before[1] + after[1]) / 2, 3),
            }

        async def kc_login(seconds: float) -> dict[str, Any]:
            before = java_hash_rate(home, seconds / 2)
            async with httpx.AsyncClient(timeout=60) as http:

                async def login(n: int) -> bool:
                    answer = await http.post(
                        keycloak.token_url,
                        data={"grant_type": "password", "username": f"bench{n}",
                              "password": PASSWORD, "scope": "openid"},
                        headers={"Authorization": keycloak.basic},
                    )  # fmt: skip
                    return answer.status_code == 200

                cpu, wall = ServiceCpu.seconds(), time.perf_counter()
                rate, latencies = await throughput(
                    login, seconds=seconds, concurrency=args.concurrency
                )
                cpu, wall = ServiceCpu.seconds() - cpu, time.perf_counter() - wall
            after = java_hash_rate(home, seconds / 2)
            return {
                "per_s": round(rate, 1),
                "p99_ms": round(percentile(latencies, 99), 1),
                **ServiceCpu.figures(cpu, wall, round(rate * wall)),
                "hash_per_s": round((before[0] + after[0]) / 2, 1),
                "hash_cpu_ms": round((before[1] + after[1]) / 2, 3),
            }

        await alternate("login", [(our_sides, our_login), (kc_side, kc_login)], **common)
        memory = {"ours": rss_mb(ours.proc.proc.pid), "keycloak": rss_mb(keycloak.pid)}
    finally:
        keycloak.stop()
        ours.stop()
        await factory.drop(kc_db)
        await factory.drop(our_db)
    result["load_average_end"] = round(os.getloadavg()[0], 2)
    # The raw rounds first (bench/results/*.tmp is not committed), should the summary fail.
    raw = {"ready": ready, "memory": memory, "ours": our_sides.rounds, "kc": kc_side.rounds}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "keycloak.raw.tmp").write_text(json.dumps(raw, indent=2))

    figures, per_round = compare(our_sides.rounds, kc_side.rounds, ready, memory)
    result["per_round"] = per_round
    result["figures"] = figures
    result["keycloak_sizing_per_vcpu"] = {
        "password_logins": 15,
        "client_credentials": 120,
        "refreshes": 120,
        "source": "Keycloak's high availability guide, 'Concepts for sizing CPU and memory'",
    }
    write_result("keycloak", result)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="per round and side")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    arguments = parser.parse_args()
    pin_to_load_cpu()
    run(main, arguments)
