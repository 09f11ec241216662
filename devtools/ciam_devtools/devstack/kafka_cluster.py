"""A local Kafka cluster: three combined broker+controller nodes (KRaft), from the same jars.

Used by `make run KAFKA_BROKERS=3` (the runner's storage in `var/kafka-cluster`) and by the
cluster tests (`tests/cluster`), which kill and restart single nodes.

Why combined nodes and not three controllers plus three brokers: on a 2-core machine three
JVMs start in half the time and memory of six. What it costs: the controller quorum lives on
the same three nodes, so with two nodes down the quorum is lost too, and the one node left
can neither take writes (it cannot shrink the in-sync replicas without a controller) nor
elect leaders. With `min.insync.replicas=2` nothing could be written then anyway; a cluster
with dedicated controllers differs only in that the metadata (leaders, ISR) stays current
while two brokers are down (docs/operations.md, "A Kafka cluster").

Node n (1, 2, 3) listens on `port + 2(n-1)` and its controller on `controller_port + 2(n-1)`
(the runner: 9092/9093, 9094/9095, 9096/9097); its directory is `<workdir>/node-<n>`, and
all share the cluster id kept in `<workdir>/cluster.id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ciam_devtools.devstack.errors import DevStackError
from ciam_devtools.devstack.kafka import (
    HEAP,
    KafkaNode,
    format_storage,
    launch_node,
)
from ciam_devtools.devstack.process import (
    ManagedProcess,
    free_port,
    port_in_use,
    ready_timeout,
    require_free,
)

CLUSTER_SIZE = 3
BROKERS_VARIABLE = "CIAM_KAFKA_BROKERS"


def brokers_from_env(value: str | None = None) -> int:
    """How many brokers the runner starts: CIAM_KAFKA_BROKERS, 1 (the default) or 3."""
    raw = (os.environ.get(BROKERS_VARIABLE, "") if value is None else value).strip() or "1"
    if raw not in ("1", str(CLUSTER_SIZE)):
        raise DevStackError(
            f"{BROKERS_VARIABLE}={raw!r}: the runner starts 1 Kafka broker or a cluster of "
            f"{CLUSTER_SIZE} (`make run KAFKA_BROKERS=3`)"
        )
    return int(raw)


class KafkaCluster:
    """`size` combined nodes. `port`/`controller_port`: the first node's (the others follow,
    two apart); free ports when not given."""

    def __init__(
        self,
        workdir: Path,
        *,
        size: int = CLUSTER_SIZE,
        port: int | None = None,
        controller_port: int | None = None,
        heap: Sequence[str] = HEAP,
    ) -> None:
        ids = range(1, size + 1)
        if port is None or controller_port is None:
            pairs = {n: (free_port(), free_port()) for n in ids}
        else:
            pairs = {n: (port + 2 * (n - 1), controller_port + 2 * (n - 1)) for n in ids}
        used = [p for pair in pairs.values() for p in pair]
        if len(set(used)) != len(used):
            raise DevStackError(
                f"the Kafka ports of a {size}-node cluster overlap ({sorted(used)}): choose "
                "CIAM_KAFKA_CONTROLLER_PORT = CIAM_KAFKA_PORT + 1 (the default) or further off"
            )
        voters = ",".join(f"{n}@127.0.0.1:{c}" for n, (_, c) in pairs.items())
        self.workdir = workdir
        self.heap = list(heap)
        self.nodes = {
            n: KafkaNode(n, p, c, workdir / f"node-{n}", voters) for n, (p, c) in pairs.items()
        }
        self.procs: dict[int, ManagedProcess] = {}

    @property
    def bootstrap(self) -> str:
        """Every node's address: a client finds the cluster through any one that answers."""
        return ",".join(node.bootstrap for node in self.nodes.values())

    def launch(self, say: Callable[[str], None] | None = None) -> None:
        """Format what is not formatted yet and start every node, without waiting (`wait`).
        From the main thread (a child dies with the thread that started it)."""
        for node in self.nodes.values():
            require_free(node.port, f"Kafka node {node.node_id}", "CIAM_KAFKA_PORT")
            require_free(
                node.controller_port, f"the controller of Kafka node {node.node_id}",
                "CIAM_KAFKA_CONTROLLER_PORT",
            )  # fmt: skip
        self.workdir.mkdir(parents=True, exist_ok=True)
        if say and not all(node.formatted for node in self.nodes.values()):
            say(f"kafka: formatting {len(self.nodes)} nodes in {self.workdir} (first start) ...")
        format_storage(list(self.nodes.values()), self.workdir)
        for node_id in self.nodes:
            if say:
                node = self.nodes[node_id]
                say(f"kafka: starting node {node_id} on {node.bootstrap} ({node.workdir}) ...")
            self.relaunch(node_id)

    def relaunch(self, node_id: int) -> ManagedProcess:
        """Start one node again (after `kill`) on its own storage; `wait_for` waits for it."""
        if (proc := self.procs.get(node_id)) is not None and proc.alive():
            raise DevStackError(f"Kafka node {node_id} is running already")
        proc = launch_node(self.nodes[node_id], heap=self.heap, name=f"kafka-{node_id}")
        self.procs[node_id] = proc
        return proc

    def kill(self, node_id: int) -> None:
        """SIGKILL: the node crashes, with no controlled shutdown and no leader hand-over."""
        proc = self.procs[node_id]
        if proc.proc is not None and proc.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.proc.pid, signal.SIGKILL)
            proc.proc.wait(timeout=10)

    def alive(self) -> list[int]:
        return [n for n, proc in self.procs.items() if proc.alive()]

    async def registered(self) -> set[int]:
        """The brokers the cluster's metadata lists as alive (unfenced)."""
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            return {int(broker["node_id"]) for broker in cluster.get("brokers") or ()}
        finally:
            await admin.close()

    async def wait_for(
        self, node_ids: Iterable[int] | None = None, timeout: float | None = None
    ) -> float:
        """Seconds until the nodes (default: all) are registered brokers; fails early, with
        its log, when one of them exits."""
        # Refused connections to nodes still starting are expected: not logged meanwhile.
        quiet = logging.getLogger("aiokafka")
        level, quiet.level = quiet.level, logging.CRITICAL
        try:
            return await self._wait_for(set(self.nodes if node_ids is None else node_ids), timeout)
        finally:
            quiet.setLevel(level)

    async def _wait_for(self, wanted: set[int], timeout: float | None) -> float:
        timeout = ready_timeout() if timeout is None else timeout
        started, last = time.monotonic(), ""
        while time.monotonic() - started < timeout:
            for node_id in wanted:
                proc = self.procs[node_id]
                if not proc.alive():
                    raise DevStackError(
                        f"Kafka node {node_id} exited (log {proc.log_path}):\n{proc.log_tail()}"
                    )
            try:
                if any(port_in_use(self.nodes[n].port) for n in self.alive()) and (
                    wanted <= await self.registered()
                ):
                    return time.monotonic() - started
            except Exception as exc:  # not up yet
                last = str(exc) or repr(exc)
            await asyncio.sleep(0.2)
        raise DevStackError(
            f"Kafka nodes {sorted(wanted)} not registered after {timeout:.0f} s (raise "
            f"CIAM_READY_TIMEOUT on a slow machine; logs in {self.workdir}); last: {last}"
        )

    async def leader(self, topic: str, partition: int = 0) -> int:
        """The node that leads `partition` of `topic` (-1: none)."""
        return (await leaders(self.bootstrap, topic)).get(partition, -1)

    async def fully_replicated(self, topic: str) -> bool:
        """Every partition of `topic` has all its replicas in sync (a restarted node caught up)."""
        return all(
            set(isr) == set(replicas)
            for _, replicas, isr in (await partitions(self.bootstrap, topic)).values()
        )

    def wait(self) -> float:
        """`wait_for` every node, from synchronous code (the runner's thread)."""
        return asyncio.run(self.wait_for())

    def stop(self, *, graceful: bool = True) -> None:
        """SIGTERM, one node after the other (a controlled shutdown hands its partitions
        over); `graceful=False` kills them all at once (storage that is thrown away)."""
        for node_id, proc in self.procs.items():
            if graceful:
                proc.stop()
            else:
                self.kill(node_id)


async def leaders(bootstrap: str, topic: str) -> dict[int, int]:
    """Partition -> the node id of its leader (-1: none) of `topic`."""
    return {p: leader for p, (leader, _, _) in (await partitions(bootstrap, topic)).items()}


async def partitions(bootstrap: str, topic: str) -> dict[int, tuple[int, list[int], list[int]]]:
    """Partition -> (leader, replicas, in-sync replicas) of `topic`."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return {
            int(p["partition"]): (int(p["leader"]), list(p["replicas"]), list(p["isr"]))
            for p in described.get("partitions") or ()
        }
    finally:
        await admin.close()
