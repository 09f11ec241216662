"""Notifier benchmark: a consent change on Kafka -> every webhook endpoint; email throughput.

    make bench-notifier    -> bench/results/notifier.json

Real Kafka, PostgreSQL and Redis (ciam_devtools.devstack, or the servers the environment
names); the notifier as its own uvicorn process; webhook endpoints served by one local HTTP
server in this process (one path per endpoint), verifying nothing (signature checks are in the
tests) and recording arrival times; a real SMTP server (aiosmtpd) for email.

1. Latency: from publishing a withdrawal on ciam.consent.changes (as the consent service's
   relay does) to its arrival at each endpoint, for 10 and 50 endpoints, one change at a time.
2. Deliveries per second: 1,000 changes published at once to 10 endpoints, until all arrived;
   lost = (change, endpoint) pairs that never arrived; duplicates = pairs that arrived twice.
3. Email: 200 marketing messages to consenting subjects; duplicate_emails counts any message
   id that reached the SMTP server twice.

With each figure, the notifier process's CPU time per delivery (`*_cpu_ms_per_delivery`, all
its threads, from /proc/<pid>/task/*/schedstat as bench/auth.py's ServiceCpu reads it): what
one delivery costs the service whatever else the shared machine runs, so it survives the
noise that swamps the latencies. `*_busy` is its CPU time / wall time. `--pin`: the notifier
on CPU 0 with taskset, this process and the servers it starts on CPU 1. The load averages at
the start and the end are in the result.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller
from common import percentile, run, sample, wait_for, write_result

from ciam_devtools.devstack import free_port
from ciam_devtools.testing.apps import CATALOGUE_PURPOSES, register_app
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess
from ciam_shared.events import (
    CloudEvent,
    CollectionMethod,
    ConsentState,
    ConsentStateItem,
    ConsentStatus,
    ConsentWithdrawn,
    encode,
)
from ciam_shared.tokens.scopes import NOTIFIER_WEBHOOKS
from ciam_shared.topics import ALL_TOPICS, CONSENT_CHANGES, CONSENT_STATE, ensure_topics

SERVICE_CPU, LOAD_CPU = 0, 1


class ProcessCpu:
    """CPU seconds a process has used, all its threads (bench/auth.py's ServiceCpu, read the
    same way: schedstat's nanoseconds where the kernel keeps them, else stat's ticks)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def seconds(self) -> float:
        total = 0.0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                nanoseconds = int((task / "schedstat").read_text().split()[0])
                if nanoseconds:
                    total += nanoseconds / 1e9
                    continue
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, ValueError, IndexError):
                continue  # a thread that ended meanwhile
        return total

    def figures(self, name: str, since: tuple[float, float], deliveries: int) -> dict[str, float]:
        cpu, wall = self.seconds() - since[0], time.perf_counter() - since[1]
        return {
            f"{name}_cpu_ms_per_delivery": round(cpu * 1000 / max(deliveries, 1), 3),
            f"{name}_busy": round(cpu / wall, 2),
        }

    def mark(self) -> tuple[float, float]:
        return self.seconds(), time.perf_counter()


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Endpoints:
    """Every webhook endpoint: path /hook/<n>; records (n, webhook-id) -> arrival times."""

    def __init__(self) -> None:
        self.arrivals: dict[tuple[str, str], list[float]] = defaultdict(list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        headers = dict(scope["headers"])
        key = (scope["path"], headers.get(b"webhook-id", b"").decode())
        self.arrivals[key].append(time.perf_counter())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


class Mailbox:
    def __init__(self) -> None:
        self.keys: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for line in envelope.content.decode(errors="replace").splitlines():
            if line.lower().startswith("x-ciam-message-key:"):
                self.keys[line.split(":", 1)[1].strip()] += 1
        return "250 OK"


def withdrawal(subject: uuid.UUID) -> CloudEvent[Any]:
    data = ConsentWithdrawn(
        subject_id=subject,
        version=2,
        purpose="email-marketing",
        purpose_version=1,
        status=ConsentStatus.WITHDRAWN,
        collected_via=CollectionMethod.WEB,
        occurred_at=datetime.now(UTC),
        entry_hash="0" * 64,
    )
    return CloudEvent.wrap(data, source="/ciam/consent")


async def produce(producer: AIOKafkaProducer, topic: str, event: CloudEvent[Any]) -> Any:
    key, value, headers = encode(event)
    return await producer.send(
        topic, value=value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
    )


async def main(
    args: argparse.Namespace, bootstrap: str, redis: str, postgres: str
) -> dict[str, Any]:
    prefix = f"nbench{uuid.uuid4().hex[:6]}."
    await ensure_topics(bootstrap, ALL_TOPICS, prefix=prefix)
    db_url = await DatabaseFactory(postgres).create("ciam_notifier.migrations")
    endpoints, mailbox = Endpoints(), Mailbox()
    hook_port = free_port()
    hooks = uvicorn.Server(
        uvicorn.Config(
            endpoints, host="127.0.0.1", port=hook_port, log_level="error", lifespan="off"
        )
    )
    hooks_task = asyncio.create_task(hooks.serve())
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    issuer = TokenIssuer().start()  # the services' JWKS, as the auth service would serve
    env = {
        "NOTIFIER_DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "REDIS_URL": redis,
        "KAFKA_TOPIC_PREFIX": prefix,
        "CIAM_ENVIRONMENT": "test",
        "NOTIFIER_MIGRATE_ON_START": "false",
        "TOKEN_ISSUER": issuer.url,
        "NOTIFIER_WEBHOOK_ALLOWLIST": '["127.0.0.0/8"]',
        "NOTIFIER_LOG_LEVEL": "WARNING",
        "NOTIFIER_SMTP_HOST": "127.0.0.1",
        "NOTIFIER_SMTP_PORT": str(smtp.port),
        "NOTIFIER_SETTLE_SECONDS": "0.2",
        "NOTIFIER_MESSAGE_POLL_SECONDS": "0.05",
        "NOTIFIER_DELIVERY_POLL_SECONDS": "0.2",
    }
    # The bench's app, registered as auth would (the notifier refuses an app it does not know).
    await register_app(bootstrap, "bench", CATALOGUE_PURPOSES, prefix=prefix)
    result: dict[str, Any] = {"load_average_start": load_average(), "pinned": args.pin}
    service = ServiceProcess("notifier", env, Path(tempfile.mkdtemp()))
    if args.pin and shutil.which("taskset"):
        service.command_prefix = ["taskset", "-c", str(SERVICE_CPU)]
    service.start()
    assert service.proc is not None
    cpu = ProcessCpu(service.proc.proc.pid)  # taskset execs the interpreter: the same pid
    headers = issuer.bearer(issuer.app_token("bench", scopes=(NOTIFIER_WEBHOOKS,), ttl=3600))
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    changes_topic = CONSENT_CHANGES.name(prefix)
    try:
        async with httpx.AsyncClient(base_url=service.url, headers=headers, timeout=30) as api:
            subscribed = 0

            async def subscribe_up_to(n: int) -> list[str]:
                nonlocal subscribed
                while subscribed < n:
                    response = await api.post(
                        "/v1/subscriptions",
                        json={"url": f"http://127.0.0.1:{hook_port}/hook/{subscribed}"},
                    )
                    response.raise_for_status()
                    subscribed += 1
                return [f"/hook/{i}" for i in range(n)]

            for n in (10, 50):
                paths = await subscribe_up_to(n)
                latencies: list[float] = []
                since = cpu.mark()
                for _ in range(args.changes):
                    event = withdrawal(uuid.uuid4())
                    t0 = time.perf_counter()
                    await (await produce(producer, changes_topic, event))
                    keys = [(p, str(event.id)) for p in paths]
                    await wait_for(lambda keys=keys: all(endpoints.arrivals[k] for k in keys), 60)
                    latencies.extend((endpoints.arrivals[k][0] - t0) * 1000 for k in keys)
                result[f"webhook_{n}_p50_ms"] = round(percentile(latencies, 50), 2)
                result[f"webhook_{n}_p99_ms"] = round(percentile(latencies, 99), 2)
                result |= cpu.figures(f"webhook_{n}", since, len(latencies))
                print(n, result, flush=True)

            # Throughput: only 10 endpoints stay subscribed.
            listed = (await api.get("/v1/subscriptions")).json()
            for row in listed[10:]:
                (await api.delete(f"/v1/subscriptions/{row['id']}")).raise_for_status()
            paths = [f"/hook/{i}" for i in range(10)]
            events = [withdrawal(uuid.uuid4()) for _ in range(args.burst)]
            spy = sample(cpu.pid, args.profile) if args.profile else None
            t0 = time.perf_counter()
            since = cpu.mark()
            await asyncio.gather(*[await produce(producer, changes_topic, e) for e in events])
            expected = [(p, str(e.id)) for e in events for p in paths]
            with contextlib.suppress(TimeoutError):
                await wait_for(lambda: all(endpoints.arrivals[k] for k in expected), 300)
            elapsed = time.perf_counter() - t0
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its file and ends
                spy.wait(timeout=60)
            arrived = [k for k in expected if endpoints.arrivals[k]]
            result["deliveries"] = len(expected)
            result["deliveries_per_s"] = round(len(arrived) / elapsed, 1)
            result["lost"] = len(expected) - len(arrived)
            result["duplicate_deliveries"] = sum(len(endpoints.arrivals[k]) - 1 for k in arrived)
            result |= cpu.figures("throughput", since, len(arrived))
            print("throughput", result, flush=True)

            # Email: consenting subjects, one marketing message each.
            subjects = [uuid.uuid4() for _ in range(args.emails)]
            now = datetime.now(UTC)
            for subject in subjects:
                state = ConsentState(
                    subject_id=subject,
                    version=1,
                    updated_at=now,
                    consents=[
                        ConsentStateItem(
                            purpose="email-marketing",
                            purpose_version=1,
                            status=ConsentStatus.GRANTED,
                            version=1,
                            updated_at=now,
                        )
                    ],
                )
                await produce(
                    producer,
                    CONSENT_STATE.name(prefix),
                    CloudEvent.wrap(state, source="/ciam/consent"),
                )
            await producer.flush()
            ids: list[str] = []
            t0 = time.perf_counter()
            for subject in subjects:
                for _ in range(100):  # the notifier's view may still be reading the states
                    response = await api.post(
                        "/v1/messages",
                        json={
                            "subject_id": str(subject),
                            "purpose": "email-marketing",
                            "channel": "email",
                            "to": "bench@example.com",
                            "body": "hello",
                        },
                    )
                    if response.status_code == 202:
                        ids.append(f"message-{response.json()['id']}")  # its key
                        break
                    await asyncio.sleep(0.05)
            with contextlib.suppress(TimeoutError):
                await wait_for(lambda: all(mailbox.keys[i] for i in ids), 120)
            result["emails"] = len(ids)
            result["emails_sent_per_s"] = round(
                sum(1 for i in ids if mailbox.keys[i]) / (time.perf_counter() - t0), 1
            )
            result["emails_lost"] = sum(1 for i in ids if not mailbox.keys[i])
            result["duplicate_emails"] = sum(max(mailbox.keys[i] - 1, 0) for i in ids)
            print("email", result, flush=True)
    finally:
        await producer.stop()
        service.stop()
        smtp.stop()
        issuer.stop()
        hooks.should_exit = True
        await hooks_task
    result["load_average_end"] = load_average()
    write_result("notifier", result)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=100, help="latency samples per size")
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--emails", type=int, default=200)
    parser.add_argument("--pin", action="store_true", help="notifier on CPU 0, the rest on 1")
    parser.add_argument(
        "--profile", metavar="FILE", help="py-spy (raw stacks) of the notifier's throughput part"
    )
    arguments = parser.parse_args()
    if arguments.pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {LOAD_CPU})  # the servers started next inherit it
    run(main, arguments)
