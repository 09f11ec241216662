"""CIAM_REPLICAS: the runner's ports for several processes of each service."""

from __future__ import annotations

import pytest

from ciam_devtools.devstack.errors import DevStackError
from ciam_devtools.devstack.ports import ports_from_env
from ciam_devtools.devstack.run import instance_name


def test_one_process_per_service_by_default() -> None:
    ports = ports_from_env({})
    assert ports.replicas == 1
    assert ports.service("consent") == 8003
    assert not any(what.startswith("replica") for what in ports.owners())


def test_each_replica_listens_100_ports_above_the_previous_and_every_port_is_checked() -> None:
    ports = ports_from_env({"CIAM_REPLICAS": "2", "CIAM_BASE_PORT": "9001"})
    assert [ports.service("consent", r) for r in range(2)] == [9003, 9103]
    assert ports.service_url("notifier", 1) == "http://127.0.0.1:9104"
    assert ports.owners()["replica 2 of the auth service"] == (9101, "CIAM_BASE_PORT")
    assert [instance_name("profile", r) for r in range(3)] == ["profile", "profile-2", "profile-3"]
    every = [port for port, _ in ports.owners().values()]
    assert len(every) == len(set(every))  # no replica on another component's port


@pytest.mark.parametrize("value", ["0", "x", "10", "-1"])
def test_a_replica_count_that_is_not_1_to_9_is_refused(value: str) -> None:
    with pytest.raises(DevStackError, match="CIAM_REPLICAS"):
        ports_from_env({"CIAM_REPLICAS": value})
