"""A development client for trying the APIs of `make run` by hand, and the clients the
services themselves use to call the auth service.

The runner keeps their credentials in var/ (mode 0600). dev-client.json, which `make token`
trades for an access token with the client credentials grant exactly as a brand app's back end
does, is registered once with the auth service's CLI (it has a brand and purposes, which a
declared service client has not). One <service>-client.json per service that reads the auth
service's internal API (scope `auth:contacts`: the notifier's addresses, the profile's social
imports) holds a client id and a secret made here; the auth service declares them
(AUTH_SERVICE_CLIENTS, upserted at its start, as docker-compose.yml does) and the service gets
them as <SERVICE>_AUTH_CLIENT_ID / <SERVICE>_AUTH_CLIENT_SECRET.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx

from ciam_shared.tokens import scopes as sc

CLIENT_FILE = "dev-client.json"
SCOPES = (
    sc.CONSENT_READ, sc.CONSENT_WRITE, sc.CONSENT_ADMIN, sc.NOTIFIER_ADMIN, sc.AUTH_ADMIN,
    sc.PROFILE_READ, sc.PROFILE_WRITE, sc.PROFILE_TRACK, sc.PROFILE_ADMIN,
    sc.NOTIFIER_WEBHOOKS, sc.NOTIFIER_STREAM,
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
    path, identity = var / CLIENT_FILE, ["--name", "dev-console", "--brand", "demo"]
    if path.exists():
        return dict(json.loads(path.read_text()))
    args = [*identity, "--grant", "client_credentials"]
    for scope in SCOPES:
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
    _write_private(path, client)
    return client


def service_clients(var: Path) -> dict[str, dict[str, str]]:
    """The extra environment of auth (its declaration of the services' clients) and of each
    service (its client). A service whose <SERVICE>_AUTH_CLIENT_ID the environment names is left
    to it; a declaration already in AUTH_SERVICE_CLIENTS is kept, the runner's clients added.
    With AUTH_SERVICE_CLIENTS_FILE the declaration is the file's alone: nothing is added."""
    if os.environ.get("AUTH_SERVICE_CLIENTS_FILE"):
        return {}
    extras: dict[str, dict[str, str]] = {}
    declared: list[dict[str, object]] = json.loads(os.environ.get("AUTH_SERVICE_CLIENTS") or "[]")
    for service in SERVICE_CLIENTS:
        prefix = service.upper()
        if f"{prefix}_AUTH_CLIENT_ID" in os.environ:
            continue
        own = _service_credentials(var / f"{service}-client.json", service)
        declared = [c for c in declared if c.get("client_id") != own["client_id"]]
        declared.append(
            {
                "client_id": own["client_id"],
                "secret": own["client_secret"],
                "scopes": list(SERVICE_SCOPES),
                "name": service,
            }
        )
        extras[service] = {
            f"{prefix}_AUTH_CLIENT_ID": own["client_id"],
            f"{prefix}_AUTH_CLIENT_SECRET": own["client_secret"],
        }
    if declared:
        extras["auth"] = {"AUTH_SERVICE_CLIENTS": json.dumps(declared)}
    return extras


def _service_credentials(path: Path, service: str) -> dict[str, str]:
    # A file of an earlier runner (a CLI-registered `app_...` id) is reused as it is: the
    # declaration then updates that client.
    if path.exists():
        return dict(json.loads(path.read_text()))
    client = {"client_id": f"svc-{service}", "client_secret": secrets.token_urlsafe(32)}
    _write_private(path, client)
    return client


def _write_private(path: Path, client: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)  # created private: the secret is never readable by others
    path.write_text(json.dumps(client))
    path.chmod(0o600)


def main(argv: list[str] | None = None) -> int:
    from ciam_devtools.devstack.errors import DevStackError
    from ciam_devtools.devstack.ports import ports_from_env

    parser = argparse.ArgumentParser(description="An access token for trying `make run`.")
    parser.add_argument("--auth", default=None, help="the auth service (default: CIAM_BASE_PORT)")
    parser.add_argument("--scope", action="append", default=[], help="narrow the scopes")
    parser.add_argument("--var", default="var")
    args = parser.parse_args(argv)
    try:
        auth = args.auth or ports_from_env().service_url("auth")
    except DevStackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    path = Path(args.var) / CLIENT_FILE
    if not path.exists():
        print(f"no {path}: start the system with `make run` first", file=sys.stderr)
        return 1
    client = json.loads(path.read_text())
    form = {"grant_type": "client_credentials"}
    if args.scope:
        form["scope"] = " ".join(args.scope)
    try:
        response = httpx.post(
            f"{auth}/token", data=form, auth=(client["client_id"], client["client_secret"])
        )
    except httpx.HTTPError as error:
        print(
            f"error: the auth service at {auth} does not answer ({type(error).__name__}): "
            "is `make run` running, with the same CIAM_BASE_PORT?",
            file=sys.stderr,
        )
        return 1
    if response.status_code != 200:
        print(f"the auth service answered {response.status_code}: {response.text}", file=sys.stderr)
        return 1
    print(response.json()["access_token"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
