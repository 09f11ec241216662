"""Why subscribers must not use FastStream's default ack policy, on the real broker: a
consumer process killed while it handles a record gets the record again after restart with
the project's policy, and loses it with ACK_FIRST (auto-commit before the handler finished)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

SCRIPT = Path(__file__).parent / "support_crashing_consumer.py"


async def run_consumer(
    bootstrap: str, topic: str, group: str, policy: str, state: Path
) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        bootstrap,
        topic,
        group,
        policy,
        str(state),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    assert line.strip() == b"ready", line
    return proc


async def lines_until_exit_or(proc: asyncio.subprocess.Process, timeout: float) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            while raw := await proc.stdout.readline():
                lines.append(raw.decode().strip())
                if lines[-1].startswith("applied"):
                    break
    except TimeoutError:
        pass
    return lines


async def committed(bootstrap: str, group: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(max(meta.offset, 0) for tp, meta in offsets.items() if tp.topic == topic)


@pytest.mark.parametrize(("policy", "redelivered"), [("ours", True), ("ack_first", False)])
async def test_a_consumer_killed_mid_record_gets_it_again_unless_it_acked_first(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path, policy: str, redelivered: bool
) -> None:
    topic, group = f"{topic_prefix}crash-{policy}", f"{topic_prefix}group-{policy}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    value = uuid.uuid4().hex
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value.encode())
    finally:
        await producer.stop()

    first = await run_consumer(kafka_bootstrap, topic, group, policy, tmp_path)
    assert await asyncio.wait_for(first.wait(), 60) == 1  # killed mid-handling
    assert (tmp_path / "crashed").exists()
    # The cause, read from the broker: ACK_FIRST committed the offset of a record that was
    # never applied; the project's policy committed nothing.
    assert await committed(kafka_bootstrap, group, topic) == (0 if redelivered else 1)

    second = await run_consumer(kafka_bootstrap, topic, group, policy, tmp_path)
    try:
        # The restarted member gets the partition once the killed one's session expires
        # (10 s), then resumes from the committed offset.
        lines = await lines_until_exit_or(second, timeout=30 if redelivered else 15)
    finally:
        second.kill()
        await second.wait()
    assert (f"applied {value}" in lines) is redelivered, lines
