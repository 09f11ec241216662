"""A Kafka cluster of three brokers of their own, for the tests in this directory only (the
rest of the suite keeps the plugin's single broker): started once per session, on free ports,
as local processes (always: the tests kill and restart its nodes, which a shared or
containerised broker would not allow). A test that kills nodes gets them back afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from ciam_devtools.devstack.kafka_cluster import KafkaCluster

# Three JVMs on a small machine: a smaller heap than the runner's broker.
NODE_HEAP = ["-Xms128m", "-Xmx512m"]


@pytest.fixture(scope="session")
def kafka_cluster_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    cluster = KafkaCluster(tmp_path_factory.mktemp("kafka-cluster"), heap=NODE_HEAP)
    try:
        cluster.launch()
        cluster.wait()
        yield cluster
    finally:
        cluster.stop(graceful=False)  # its storage goes with the session


@pytest.fixture
async def kafka_cluster(kafka_cluster_session: KafkaCluster) -> AsyncIterator[KafkaCluster]:
    """The three-broker cluster with every node up: `kill(node)` (SIGKILL), `relaunch(node)`
    and `await wait_for([node])` restart one, `await leader(topic, partition)` names the node
    that leads a partition."""
    cluster = kafka_cluster_session
    yield cluster
    dead = [node for node in cluster.nodes if node not in cluster.alive()]
    for node in dead:
        cluster.relaunch(node)
    if dead:
        await cluster.wait_for(dead)
