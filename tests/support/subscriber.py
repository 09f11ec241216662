"""A brand app in its own process: a ConsentView that prints every change it applies.

    python tests/support/subscriber.py <bootstrap> <topic-prefix> <subscriber-name>

Prints `ready` once bootstrapped, then one JSON line per applied change; stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time

from ciam_consent_sdk import ConsentUpdate, ConsentView


async def main(bootstrap: str, prefix: str, name: str) -> None:
    view = ConsentView(bootstrap, topic_prefix=prefix, subscriber=name)

    @view.on_change
    async def show(change: ConsentUpdate) -> None:
        line = {
            # When the callback ran (CLOCK_MONOTONIC: comparable across processes), before
            # the pipe to whoever reads these lines.
            "at": time.perf_counter(),
            "subject": str(change.subject_id),
            "version": change.version,
            "event_id": str(change.event_id) if change.event_id else None,
            "erased": change.erased,
            # What the app may now do: the purposes granted (purpose-wide), e.g. to see a
            # withdrawal clicked on the privacy page arrive.
            "granted": sorted(
                item.purpose
                for item in (change.current.consents if change.current else ())
                if item.status == "granted" and item.brand is None and item.channel is None
            ),
        }
        print(json.dumps(line), flush=True)

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await view.start()
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        await view.stop()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
