"""The runner's Redis and Kafka keep their data in their directory (var/redis, var/kafka), so a
restart of `make run` keeps sessions, topics and records."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ciam_devtools.devstack.kafka import start_kafka
from ciam_devtools.devstack.redis import start_redis
from ciam_devtools.testing.plugin import eventually


async def test_the_kept_redis_has_its_keys_after_a_restart(tmp_path: Path) -> None:
    for attempt in ("write", "read"):
        proc, url = start_redis(tmp_path / "redis", kept=True)
        client = aioredis.from_url(url)
        try:
            if attempt == "write":
                await client.set("session:ada", "kept")
            else:
                assert await client.get("session:ada") == b"kept"
        finally:
            await client.aclose()
            proc.stop()
    assert list((tmp_path / "redis").glob("appendonly*"))


@pytest.mark.e2e
def test_the_kept_kafka_has_its_topics_after_a_restart_with_the_same_cluster_id(
    tmp_path: Path,
) -> None:
    # Synchronous: start_kafka runs its own event loop while it waits for the broker.
    workdir = tmp_path / "kafka"
    ids = []
    for attempt in ("create", "find"):
        proc, bootstrap, _ = start_kafka(workdir)
        try:
            ids.append(asyncio.run(_topic_kept(bootstrap, create=attempt == "create")))
        finally:
            proc.stop()
    assert ids[0] == ids[1] == (workdir / "cluster.id").read_text().strip()


async def _topic_kept(bootstrap: str, *, create: bool) -> str:
    """Creates (or finds) the topic; returns the cluster id the broker reports."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if create:
            await admin.create_topics([NewTopic("ciam.kept", 1, 1)])

        async def listed() -> bool:
            return "ciam.kept" in await admin.list_topics()

        await eventually(listed, timeout=60)
        return str((await admin.describe_cluster())["cluster_id"])
    finally:
        await admin.close()
