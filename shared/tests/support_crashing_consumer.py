"""A consumer process that is killed while it handles its first record (for
test_ack_policy.py). Usage:

    python support_crashing_consumer.py <bootstrap> <topic> <group> <ack_first|ours> <state_dir>

Prints `ready` once subscribed and `applied <value>` for each record it finishes. On the very
first record it ever sees (no `crashed` file in state_dir yet) it waits past an auto-commit
interval and dies with os._exit, as a process killed mid-handling would.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from ciam_shared.broker import SAFE_ACK_POLICY, create_broker


async def main(bootstrap: str, topic: str, group: str, policy: str, state_dir: str) -> None:
    crashed = Path(state_dir) / "crashed"
    broker = create_broker(bootstrap, client_id="crash-test", description="crash test")
    ack_first = policy == "ack_first"

    async def handle(message: KafkaMessage) -> None:
        if not crashed.exists():
            crashed.write_text("x")
            await asyncio.sleep(1.0)  # FastStream's default auto-commits meanwhile (100 ms)
            os._exit(1)
        print(f"applied {message.body.decode()}", flush=True)

    broker.subscriber(
        topic,
        group_id=group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK_FIRST if ack_first else SAFE_ACK_POLICY,
        auto_commit_interval_ms=100,
    )(handle)
    await broker.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
