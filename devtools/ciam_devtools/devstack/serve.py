"""A service process of the runner that imports its code while Kafka is still starting.

    python -m ciam_devtools.devstack.serve <service> --host H --port P [--kafka HOST:PORT[,...]]

Importing a service (FastAPI, SQLAlchemy, pydantic, its own modules) is seconds of CPU; the
service's start itself needs the broker (it creates its topics and joins its consumer groups).
So the runner launches this right after launching Kafka: it imports first, then waits until
the broker serves metadata (at most CIAM_READY_TIMEOUT), then serves as `uvicorn --factory
ciam_<service>.main:create_app` does. Kafka's JVM start and the four imports overlap instead
of following each other.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
import time

from ciam_devtools.devstack.kafka import metadata_ready
from ciam_devtools.devstack.process import port_in_use, ready_timeout


def wait_for_kafka(bootstrap: str) -> None:
    """Until the broker serves metadata; with several addresses (a cluster), until as many
    brokers are registered, so the topics the service creates get the cluster's replication."""
    addresses = [a.rpartition(":") for a in bootstrap.split(",")]
    deadline = time.monotonic() + ready_timeout()
    # The client's refused connections are expected here: not logged as the service's errors.
    quiet = logging.getLogger("aiokafka")
    level, quiet.level = quiet.level, logging.CRITICAL
    try:
        while time.monotonic() < deadline:
            try:
                # The port opens before the broker serves metadata: probe cheaply first.
                if any(port_in_use(int(port), host) for host, _, port in addresses) and (
                    asyncio.run(metadata_ready(bootstrap, brokers=len(addresses)))
                ):
                    return
            except Exception:  # noqa: S110 - not up yet
                pass
            time.sleep(0.2)
    finally:
        quiet.setLevel(level)
    sys.exit(f"Kafka at {bootstrap} did not serve metadata within CIAM_READY_TIMEOUT")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("service")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kafka", default=None, help="wait for this broker before starting")
    args = parser.parse_args(argv)
    module = f"ciam_{args.service}.main"
    importlib.import_module(module)
    import uvicorn

    if args.kafka:
        wait_for_kafka(args.kafka)
    uvicorn.run(
        f"{module}:create_app", factory=True, host=args.host, port=args.port, access_log=False
    )


if __name__ == "__main__":
    main()
