"""Apache Kafka in KRaft mode (combined broker+controller nodes), from Maven Central jars.

`infra/kafka/pom.xml` names org.apache.kafka:kafka_2.13; Maven copies it with its dependencies
into `infra/kafka/lib` once. The broker runs on Java 17+. Its storage (`<workdir>/logs`) is
formatted once, with a cluster id kept in `<workdir>/cluster.id`, and reused by every later
start in the same directory: the runner's topics and records survive a restart.

One node is the default (`launch_kafka`); `ciam_devtools.devstack.kafka_cluster` starts three
(`KafkaNode`, `format_storage`, `launch_node` are the parts both use).
"""

from __future__ import annotations

import asyncio
import base64
import re
import subprocess
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ciam_devtools.devstack.errors import DevStackError
from ciam_devtools.devstack.process import (
    ManagedProcess,
    free_port,
    port_in_use,
    ready_timeout,
    repo_root,
    require_free,
    which_or_fail,
)
from ciam_shared.topics import replication_for

MIN_JAVA = 17
HEAP = ["-Xms256m", "-Xmx768m"]

LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = {level}
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def java_binary() -> str:
    java = which_or_fail(
        ["java"], "Java", f"Install Java {MIN_JAVA}+ (`apt-get install openjdk-17-jre-headless`)."
    )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        raise DevStackError(f"cannot read the Java version from `java -version`:\n{out.stderr}")
    major = int(match.group(1))
    if major == 1 and match.group(2):
        major = int(match.group(2))
    if major < MIN_JAVA:
        raise DevStackError(
            f"Kafka 4 needs Java {MIN_JAVA}+, found Java {major} ({java}). "
            f"Install a newer one (`apt-get install openjdk-17-jre-headless`) and put it first "
            f"on PATH."
        )
    return java


def kafka_jars(root: Path | None = None) -> Path:
    """The directory of broker jars, fetched with Maven on first use."""
    root = root or repo_root()
    lib = root / "infra" / "kafka" / "lib"
    marker = lib / ".complete"
    if marker.exists():
        return lib
    mvn = which_or_fail(["mvn"], "Maven", "Install it with `apt-get install maven`.")
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(root / "infra" / "kafka" / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={lib}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not list(lib.glob("kafka_2.13-*.jar")):
        raise DevStackError(
            "fetching the Kafka jars with Maven failed. Check that Maven Central is reachable "
            "(or a mirror in ~/.m2/settings.xml) and retry `make kafka-jars`.\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    marker.write_text("ok\n")
    return lib


def server_properties(
    data: Path, port: int, controller_port: int, *, node_id: int = 1, voters: str = ""
) -> str:
    """A combined broker+controller node. `voters` (`id@host:port,...`, the controller quorum)
    defaults to this node alone; with more voters the internal topics get the cluster's
    replication (`replication_for`) and brokers are fenced sooner after a crash."""
    voters = voters or f"{node_id}@127.0.0.1:{controller_port}"
    replicas, min_isr = replication_for(voters.count("@"))
    # A crashed broker is fenced (its partitions get new leaders) after the session timeout:
    # 6 s instead of Kafka's 9 s when there is another broker to lead them.
    failover = (
        "broker.session.timeout.ms=6000\nbroker.heartbeat.interval.ms=1000\n"
        if replicas > 1
        else ""
    )
    return f"""\
process.roles=broker,controller
node.id={node_id}
controller.quorum.voters={voters}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={data / "logs"}
num.partitions=1
default.replication.factor={replicas}
min.insync.replicas={min_isr}
offsets.topic.replication.factor={replicas}
offsets.topic.num.partitions=6
transaction.state.log.replication.factor={replicas}
transaction.state.log.min.isr={min_isr}
share.coordinator.state.topic.replication.factor={replicas}
share.coordinator.state.topic.min.isr={min_isr}
unclean.leader.election.enable=false
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.cleaner.backoff.ms=1000
{failover}"""


async def metadata_ready(bootstrap: str, brokers: int = 1) -> bool:
    """The cluster serves metadata and has registered at least `brokers` brokers."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        return len(cluster.get("brokers") or ()) >= brokers
    finally:
        await admin.close()


def cluster_id(workdir: Path) -> str:
    """The cluster id of the storage in `workdir`, made once (Kafka's own form: a UUID in
    URL-safe base64) and kept next to it."""
    path = workdir / "cluster.id"
    if path.exists():
        return path.read_text().strip()
    made = new_cluster_id()
    path.write_text(made + "\n")
    return made


def new_cluster_id() -> str:
    """A UUID in URL-safe base64 that does not start with "-" (as Kafka's `Uuid.randomUuid`
    makes them): the storage tool's argument parser takes "-..." for an option, and one
    start in 64 failed with "argument --cluster-id/-t: expected one argument"."""
    while True:
        made = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not made.startswith("-"):
            return made


@dataclass(frozen=True)
class KafkaNode:
    """One combined broker+controller node: its ports, its directory (properties, logs and
    `logs/`, its storage) and the controller quorum it belongs to (empty: itself alone)."""

    node_id: int
    port: int
    controller_port: int
    workdir: Path
    voters: str = ""

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def formatted(self) -> bool:
        return (self.workdir / "logs" / "meta.properties").exists()


def _write_config(node: KafkaNode) -> tuple[Path, Path]:
    node.workdir.mkdir(parents=True, exist_ok=True)
    props = node.workdir / "server.properties"
    props.write_text(
        server_properties(
            node.workdir, node.port, node.controller_port, node_id=node.node_id, voters=node.voters
        )
    )
    log4j = node.workdir / "log4j2.properties"
    log4j.write_text(LOG4J2.format(log=node.workdir / "kafka.log", level="INFO"))
    return props, log4j


def format_storage(nodes: Sequence[KafkaNode], cluster_dir: Path) -> None:
    """Format the storage of the nodes not formatted yet, all with the cluster id kept in
    `cluster_dir`: one JVM start each (seconds), run side by side."""
    java, classpath = java_binary(), f"{kafka_jars()}/*"
    running = []
    for node in nodes:
        props, log4j = _write_config(node)
        if node.formatted:
            continue
        command = [
            java, *HEAP, f"-Dlog4j2.configurationFile={log4j}", "-cp", classpath,
            "kafka.tools.StorageTool", "format", "--ignore-formatted",
            f"--cluster-id={cluster_id(cluster_dir)}", "-c", str(props),
        ]  # fmt: skip
        running.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    for fmt in running:
        output = fmt.communicate()[0].decode(errors="replace")
        if fmt.returncode != 0:
            raise DevStackError(f"formatting Kafka storage failed:\n{output}")


def launch_node(
    node: KafkaNode, *, heap: Sequence[str] = HEAP, name: str = "kafka"
) -> ManagedProcess:
    """Start a formatted node's JVM (`format_storage` first), without waiting for it. Call it
    from the main thread: a child dies with the thread that started it (PR_SET_PDEATHSIG)."""
    props, log4j = _write_config(node)
    return ManagedProcess(
        name,
        [
            java_binary(),
            *heap,
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            f"{kafka_jars()}/*",
            "kafka.Kafka",
            str(props),
        ],
        log_path=node.workdir / "kafka.stdout.log",
    ).start()


def start_kafka(
    workdir: Path,
    port: int | None = None,
    controller_port: int | None = None,
    say: Callable[[str], None] | None = None,
) -> tuple[ManagedProcess, str, float]:
    """Start a broker; returns the process, its bootstrap address and the seconds it took.
    `say` (the runner's) reports each step in one line."""
    proc, bootstrap = launch_kafka(workdir, port, controller_port, say)
    return proc, bootstrap, wait_for_kafka(proc, bootstrap)


def launch_kafka(
    workdir: Path,
    port: int | None = None,
    controller_port: int | None = None,
    say: Callable[[str], None] | None = None,
) -> tuple[ManagedProcess, str]:
    """Start the broker's process without waiting for it (`wait_for_kafka`), from the main
    thread (see `launch_node`)."""
    port = port or free_port()
    controller_port = controller_port or free_port()
    require_free(port, "Kafka", "CIAM_KAFKA_PORT")
    require_free(controller_port, "the Kafka controller", "CIAM_KAFKA_CONTROLLER_PORT")
    node = KafkaNode(1, port, controller_port, workdir)
    if not node.formatted:
        if say:
            say(f"kafka: formatting {workdir / 'logs'} (first start, kept for the next ones) ...")
        format_storage([node], workdir)
    if say:
        say(f"kafka: starting on 127.0.0.1:{port} (data {workdir / 'logs'}) ...")
    return launch_node(node), node.bootstrap


def wait_for_kafka(proc: ManagedProcess, bootstrap: str) -> float:
    """Seconds until the broker serves metadata (at most CIAM_READY_TIMEOUT)."""
    port = int(bootstrap.rpartition(":")[2])
    # The port opens before the broker serves metadata: probe cheaply first.
    return proc.wait_until(
        lambda: port_in_use(port) and asyncio.run(metadata_ready(bootstrap)),
        timeout=ready_timeout(),
        what=f"Kafka broker metadata on {bootstrap}",
    )
