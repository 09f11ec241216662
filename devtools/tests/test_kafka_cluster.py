"""The three-node cluster's layout and the runner's option, without starting a JVM (the
cluster itself runs in tests/cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ciam_devtools.devstack.errors import DevStackError
from ciam_devtools.devstack.kafka import server_properties
from ciam_devtools.devstack.kafka_cluster import KafkaCluster, brokers_from_env
from ciam_devtools.devstack.run import main


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_the_cluster_nodes_follow_the_runners_kafka_ports_two_apart(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path, port=9092, controller_port=9093)
    assert cluster.bootstrap == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
    assert [n.controller_port for n in cluster.nodes.values()] == [9093, 9095, 9097]
    assert {n.workdir for n in cluster.nodes.values()} == {
        tmp_path / f"node-{n}" for n in (1, 2, 3)
    }
    voters = "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"
    assert {n.voters for n in cluster.nodes.values()} == {voters}


def test_overlapping_cluster_ports_are_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DevStackError, match="CIAM_KAFKA_CONTROLLER_PORT"):
        KafkaCluster(tmp_path, port=9092, controller_port=9094)


def test_a_node_of_three_replicates_its_internal_topics_three_times_two_in_sync(
    tmp_path: Path,
) -> None:
    voters = "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"
    props = _properties(server_properties(tmp_path, 9094, 9095, node_id=2, voters=voters))
    assert props["node.id"] == "2"
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == voters
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["default.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["transaction.state.log.min.isr"] == "2"
    assert props["unclean.leader.election.enable"] == "false"
    assert props["broker.session.timeout.ms"] == "6000"


def test_a_single_node_keeps_one_copy_of_everything(tmp_path: Path) -> None:
    props = _properties(server_properties(tmp_path, 9092, 9093))
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["min.insync.replicas"] == "1"
    assert "broker.session.timeout.ms" not in props


def test_the_runner_starts_one_broker_or_three(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CIAM_KAFKA_BROKERS", raising=False)
    assert brokers_from_env() == 1
    monkeypatch.setenv("CIAM_KAFKA_BROKERS", "3")
    assert brokers_from_env() == 3
    with pytest.raises(DevStackError, match="KAFKA_BROKERS=3"):
        brokers_from_env("2")


def test_the_runner_refuses_another_number_of_brokers_before_starting_anything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--kafka-brokers", "2"])
    assert exit_.value.code == 2
    assert "1 Kafka broker or a cluster of 3" in capsys.readouterr().err
