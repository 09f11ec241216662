"""Topics replicate by the cluster's size: one copy on one broker, three (two of them needed for
a write) from three brokers on. The three-broker side runs in tests/cluster."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from ciam_shared.topics import CONSENT_CHANGES, ensure_topics, replicated_configs, replication_for


@pytest.mark.parametrize(
    ("brokers", "expected"), [(0, (1, 1)), (1, (1, 1)), (2, (2, 1)), (3, (3, 2)), (5, (3, 2))]
)
def test_replication_follows_the_number_of_brokers(brokers: int, expected: tuple[int, int]) -> None:
    assert replication_for(brokers) == expected
    assert replicated_configs(expected[0]) == {"min.insync.replicas": str(expected[1])}


async def test_topics_on_one_broker_have_one_replica_and_need_one(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    await ensure_topics(kafka_bootstrap, [CONSENT_CHANGES], prefix=topic_prefix)
    topic = CONSENT_CHANGES.name(topic_prefix)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        (config,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    assert {len(p["replicas"]) for p in described["partitions"]} == {1}
    entries = {entry[0]: entry[1] for entry in config.resources[0][4]}
    assert entries["min.insync.replicas"] == "1"
