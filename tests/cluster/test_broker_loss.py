"""Consent changes survive the loss of Kafka brokers, on a cluster of three (replication
factor 3, min.insync.replicas 2, producers with acks=all and idempotence).

The consent service and a brand app's ConsentView run as processes of their own. A burst of
changes goes through the API while the broker that leads a partition of the consent topics is
SIGKILLed; then a second broker goes down too, and the API keeps accepting (the changes wait in
the outbox); once both are back every change arrives. The subscriber must end with every
version of every subject applied once and in order: lost, duplicated and stale all zero."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.partitioner import DefaultPartitioner
from joserfc.jwk import ECKey
from sqlalchemy import func, select

from ciam_consent.auth import READ, WRITE
from ciam_consent.models import outbox
from ciam_devtools.devstack.kafka_cluster import KafkaCluster, partitions
from ciam_devtools.testing.apps import register_app
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import ServiceProcess, eventually
from ciam_shared.db import create_engine
from ciam_shared.topics import CONSENT_CHANGES, CONSENT_STATE, ensure_topics

pytestmark = pytest.mark.e2e
SUPPORT = Path(__file__).parents[1] / "support"
PURPOSE = "email-marketing"
PER_PARTITION = 3  # subjects on each partition of the consent topics: every leader is hit
ROUNDS = 3  # changes per subject in each phase (the API gives them versions 1, 2, 3, ...)


def subjects_on_every_partition(partitions: int, per_partition: int) -> list[uuid.UUID]:
    """Subjects whose records land `per_partition` on each partition (the producers' default
    partitioner: murmur2 of the key), so killing any partition's leader hits some of them."""
    partitioner, chosen = DefaultPartitioner(), defaultdict(list)
    everything = list(range(partitions))
    while any(len(chosen[p]) < per_partition for p in everything):
        subject = uuid.uuid4()
        partition = partitioner(str(subject).encode(), everything, everything)
        if len(chosen[partition]) < per_partition:
            chosen[partition].append(subject)
    return [subject for p in everything for subject in chosen[p]]


def audit(applied: dict[str, list[int]], expected: dict[str, int]) -> dict[str, int]:
    """Per subject, the versions a subscriber applied against 1..expected: versions never
    applied (lost), applied again (duplicated), applied after a newer one (stale)."""
    counts = {"lost": 0, "duplicated": 0, "stale": 0}
    for subject, last in expected.items():
        versions = applied.get(subject, [])
        counts["lost"] += len(set(range(1, last + 1)) - set(versions))
        counts["duplicated"] += len(versions) - len(set(versions))
        counts["stale"] += sum(1 for a, b in pairwise(versions) if b < a)
    return counts


def test_the_audit_counts_lost_duplicated_and_stale_versions() -> None:
    applied = {"a": [1, 2, 3], "b": [1, 3, 2, 2], "c": [2]}
    assert audit(applied, {"a": 3, "b": 3, "c": 3}) == {"lost": 2, "duplicated": 1, "stale": 1}


class Subscriber:
    """A brand app's ConsentView in its own process (tests/support/subscriber.py): the
    versions it applied, per subject, in the order it applied them."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.applied: dict[str, list[int]] = defaultdict(list)
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, bootstrap: str, prefix: str, name: str) -> Subscriber:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(SUPPORT / "subscriber.py"), bootstrap, prefix, name,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line.strip() == b"ready", line
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while raw := await self.proc.stdout.readline():
            line = json.loads(raw)
            self.applied[line["subject"]].append(int(line["version"]))

    async def reached(self, subjects: list[uuid.UUID], version: int) -> bool:
        assert not self._reader.done(), "the subscriber process ended"
        return all(self.applied[str(s)][-1:] == [version] for s in subjects)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
        await self.proc.wait()
        await self._reader


class ConsentApi:
    """The consent service as a process on the cluster, called as a brand app's back end."""

    def __init__(self, process: ServiceProcess, issuer: TokenIssuer, db_url: str) -> None:
        self.process, self.db_url = process, db_url
        self.client = httpx.AsyncClient(base_url=process.url, timeout=30)
        token = issuer.app_token("shop-backend", scopes=(READ, WRITE), ttl=3600)
        self.headers = issuer.bearer(token)

    async def change(self, subject: uuid.UUID, action: str) -> int:
        response = await self.client.post(
            f"/v1/subjects/{subject}/consents/{PURPOSE}/{action}", json={}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return int(response.json()["version"])

    async def burst(
        self,
        subjects: list[uuid.UUID],
        rounds: int,
        done: int,
        halfway: asyncio.Event | None = None,
    ) -> None:
        """`rounds` changes of each subject (grant, withdraw, ... so each one is a new
        version), the subjects side by side; every answer is the next version. `halfway` is
        set once half of the changes were answered."""
        answered, total = 0, rounds * len(subjects)

        async def one(subject: uuid.UUID) -> None:
            nonlocal answered
            for n in range(done + 1, done + rounds + 1):
                assert await self.change(subject, "grant" if n % 2 else "withdraw") == n
                answered += 1
                if halfway is not None and answered * 2 >= total:
                    halfway.set()

        await asyncio.gather(*(one(subject) for subject in subjects))

    async def unsent(self) -> int:
        engine = create_engine(self.db_url)
        try:
            async with engine.connect() as connection:
                query = select(func.count()).where(outbox.c.sent_at.is_(None))
                return int(await connection.scalar(query) or 0)
        finally:
            await engine.dispose()


@pytest.fixture
async def consent(
    fresh_database,  # type: ignore[no-untyped-def]
    kafka_cluster: KafkaCluster,
    redis_url: str,
    topic_prefix: str,
    tmp_path: Path,
    token_issuer: TokenIssuer,
) -> AsyncIterator[ConsentApi]:
    url = await fresh_database("ciam_consent.migrations")
    env = {
        "CONSENT_DATABASE_URL": url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_cluster.bootstrap,
        "REDIS_URL": redis_url,
        "KAFKA_TOPIC_PREFIX": topic_prefix,
        "CIAM_ENVIRONMENT": "test",
        "CONSENT_MIGRATE_ON_START": "false",
        "CONSENT_OUTBOX_SWEEP_SECONDS": "1",
        "TOKEN_ISSUER": token_issuer.url,
        "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256").as_pem(private=True).decode(),
    }
    await register_app(kafka_cluster.bootstrap, "shop-backend", [PURPOSE], prefix=topic_prefix)
    process = ServiceProcess("consent", env, tmp_path).start()
    api = ConsentApi(process, token_issuer, url)
    try:
        yield api
    finally:
        await api.client.aclose()
        process.stop()


async def changes_log(bootstrap: str, topic: str) -> dict[str, list[int]]:
    """Every version on the consent change log, per subject, in log order."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(await partitions(bootstrap, topic))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: dict[str, list[int]] = defaultdict(list)
        async with asyncio.timeout(30):
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        assert record.key is not None and record.value is not None
                        found[record.key.decode()].append(int(json.loads(record.value)["version"]))
        return found
    finally:
        await consumer.stop()


async def test_topics_on_three_brokers_have_three_replicas_of_which_two_must_have_a_write(
    kafka_cluster: KafkaCluster, topic_prefix: str
) -> None:
    await ensure_topics(kafka_cluster.bootstrap, [CONSENT_STATE], prefix=topic_prefix)
    topic = CONSENT_STATE.name(topic_prefix)

    async def every_partition_described() -> dict[int, tuple[int, list[int], list[int]]]:
        # The controller answered the creation; the broker asked may learn of the new topic's
        # partitions a moment later (CI once read none right after the creation).
        found = await partitions(kafka_cluster.bootstrap, topic)
        return found if len(found) == CONSENT_STATE.partitions else {}

    described = await eventually(every_partition_described)
    assert all(sorted(replicas) == [1, 2, 3] for _, replicas, _ in described.values())
    # Leadership spread over the brokers, so losing one moves only some partitions.
    assert len({leader for leader, _, _ in described.values()}) > 1
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_cluster.bootstrap)
    await admin.start()
    try:
        (config,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        entries = {entry[0]: entry[1] for entry in config.resources[0][4]}
    finally:
        await admin.close()
    assert entries["min.insync.replicas"] == "2"
    assert entries["cleanup.policy"] == "compact"


async def test_consent_changes_survive_the_loss_of_a_leader_and_then_of_a_second_broker(
    kafka_cluster: KafkaCluster, consent: ConsentApi, topic_prefix: str
) -> None:
    cluster = kafka_cluster
    state_topic = CONSENT_STATE.name(topic_prefix)
    subjects = subjects_on_every_partition(CONSENT_STATE.partitions, PER_PARTITION)
    subscriber = await Subscriber.start(cluster.bootstrap, topic_prefix, "cluster-app")
    try:
        # All three brokers up.
        await consent.burst(subjects, ROUNDS, done=0)
        first = await cluster.leader(state_topic, 0)
        assert first in cluster.nodes

        # The leader crashes in the middle of the burst: the API answers throughout, and the
        # changes reach the subscriber through the new leaders (two copies remain, min ISR 2).
        halfway = asyncio.Event()
        burst = asyncio.create_task(consent.burst(subjects, ROUNDS, done=ROUNDS, halfway=halfway))
        await halfway.wait()
        cluster.kill(first)
        await burst
        await eventually(lambda: subscriber.reached(subjects, 2 * ROUNDS), timeout=60)

        # A second broker (the new leader) goes down too: no write can have two copies now
        # (and, with combined nodes, the controller quorum is gone). The API still accepts:
        # each change is committed with its outbox rows, which wait.
        async def new_leader() -> int | None:
            leader = await cluster.leader(state_topic, 0)
            return leader if leader not in (first, -1) else None

        second = await eventually(new_leader, timeout=30)
        cluster.kill(second)
        await consent.burst(subjects, ROUNDS, done=2 * ROUNDS)
        assert await consent.unsent() > 0

        # Both come back: everything waiting is published, nothing lost, nothing twice.
        for node in (first, second):
            cluster.relaunch(node)
        await cluster.wait_for([first, second])
        await eventually(lambda: subscriber.reached(subjects, 3 * ROUNDS), timeout=90)

        async def all_sent() -> bool:
            return await consent.unsent() == 0

        await eventually(all_sent, timeout=30)
        expected = {str(subject): 3 * ROUNDS for subject in subjects}
        counts = audit(subscriber.applied, expected)
        assert counts == {"lost": 0, "duplicated": 0, "stale": 0}, subscriber.applied

        # The change log (audit, replay) has every change in order; a record published twice
        # by a retried batch may appear again, and consumers drop it by version.
        log = await changes_log(cluster.bootstrap, CONSENT_CHANGES.name(topic_prefix))
        first_seen = {s: list(dict.fromkeys(log[s])) for s in expected}
        assert first_seen == {s: list(range(1, 3 * ROUNDS + 1)) for s in expected}

        # The restarted brokers caught up: every partition has its three copies again.
        async def caught_up() -> bool:
            return await cluster.fully_replicated(state_topic)

        await eventually(caught_up, timeout=60)
    finally:
        await subscriber.stop()
