"""The readiness probe of a service, shared by the runner and the tests' ServiceProcess."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

# /readyz of a starved service may take seconds: a probe that gave up sooner would retry
# forever on a loaded machine (the overall limit is CIAM_READY_TIMEOUT).
PROBE_TIMEOUT = 15.0


def readyz(url: str) -> bool:
    """True when `url`/readyz answers 200; otherwise raises with the checks that failed (which
    dependency: database, Kafka, Redis), which a time-out error then shows."""
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=PROBE_TIMEOUT) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except urllib.error.HTTPError as error:
        try:
            checks = json.loads(error.read()).get("checks", {})
        except ValueError:
            checks = {}
        failed = [f"{name} {state}" for name, state in checks.items() if state != "ok"]
        raise RuntimeError(f"/readyz {error.code}: {'; '.join(failed) or 'not ready'}") from None
