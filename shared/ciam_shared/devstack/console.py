"""A development client for trying the APIs of `make run` by hand, and the clients the
services themselves use to call the auth service.

The runner registers them once (development only) with the auth service's CLI and keeps
their credentials in var/ (mode 0600): dev-client.json, which `make token` trades for an
access token with the client credentials grant, exactly as a brand app's back end does; and
one <service>-client.json per service that reads the auth service's internal API (scope
`auth:contacts`: the notifier's addresses, the profile's social imports), passed to it as
<SERVICE>_AUTH_CLIENT_ID / <SERVICE>_AUTH_CLIENT_SECRET.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import httpx

CLIENT_FILE = "dev-client.json"
SCOPES = (
    "consent:read", "consent:write", "consent:admin", "notifier:admin", "auth:admin",
    "profile:read", "profile:write", "profile:track", "profile:admin",
)  # fmt: skip
# Consent and the notifier hold an app to the purposes it declared: the development client
# declares every purpose of the consent service's seeded catalogue.
PURPOSES = (
    "email-marketing", "sms-marketing", "personalisation", "analytics", "partner-sharing",
    "social-import", "order-fulfilment",
)  # fmt: skip


# The services that call the auth service's internal API with their own client.
SERVICE_CLIENTS = ("profile", "notifier")
SERVICE_SCOPES = ("auth:contacts",)


def ensure_client(var: Path, env: dict[str, str]) -> dict[str, str]:
    """Register the development client unless var/ already holds one."""
    return _ensure(var / CLIENT_FILE, env, ["--name", "dev-console", "--brand", "demo"], SCOPES)


def ensure_service_client(var: Path, env: dict[str, str], service: str) -> dict[str, str]:
    """Register the service's own client (scope auth:contacts) unless var/ holds one."""
    return _ensure(
        var / f"{service}-client.json", env, ["--name", service, "--first-party"], SERVICE_SCOPES
    )


def _ensure(
    path: Path, env: dict[str, str], identity: list[str], scopes: tuple[str, ...]
) -> dict[str, str]:
    if path.exists():
        return dict(json.loads(path.read_text()))
    var = path.parent
    args = [*identity, "--grant", "client_credentials"]
    for scope in scopes:
        args += ["--scope", scope]
    for purpose in PURPOSES:
        args += ["--purpose", purpose]
    done = subprocess.run(
        [sys.executable, "-m", "ciam_auth.cli", "create-client", *args],
        env=env,
        cwd=var,
        capture_output=True,
        text=True,
        check=True,
    )
    client = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    path.touch(mode=0o600)  # created private: the secret is never readable by others
    path.write_text(json.dumps(client))
    path.chmod(0o600)
    return client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="An access token for trying `make run`.")
    parser.add_argument("--auth", default="http://127.0.0.1:8001", help="the auth service")
    parser.add_argument("--scope", action="append", default=[], help="narrow the scopes")
    parser.add_argument("--var", default="var")
    args = parser.parse_args(argv)
    path = Path(args.var) / CLIENT_FILE
    if not path.exists():
        print(f"no {path}: start the system with `make run` first", file=sys.stderr)
        return 1
    client = json.loads(path.read_text())
    form = {"grant_type": "client_credentials"}
    if args.scope:
        form["scope"] = " ".join(args.scope)
    response = httpx.post(
        f"{args.auth}/token", data=form, auth=(client["client_id"], client["client_secret"])
    )
    if response.status_code != 200:
        print(f"the auth service answered {response.status_code}: {response.text}", file=sys.stderr)
        return 1
    print(response.json()["access_token"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
