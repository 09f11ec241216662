"""Operator commands: `python -m ciam_auth.cli create-client --name ops --scope auth:admin
--grant client_credentials` registers a client straight in the database (the first admin
client cannot be created through the admin API, which needs one). Prints the client as JSON;
the secret is shown this once. A registration that breaks the authorisation model (e.g. an
admin scope with a redirect URI) is refused with the reason on stderr and exit status 2."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from ciam_auth.oidc.service import clients
from ciam_auth.settings import AuthSettings
from ciam_shared.db import unit_of_work
from ciam_shared.service import ServiceRuntime


def client_spec(args: argparse.Namespace) -> clients.ClientSpec:
    return clients.ClientSpec(
        name=args.name,
        brand=args.brand,
        redirect_uris=args.redirect_uri,
        post_logout_redirect_uris=args.post_logout_redirect_uri,
        scopes=args.scope or ["openid"],
        purposes=args.purpose,
        grant_types=args.grant or ["client_credentials"],
        auth_method=args.auth_method,
        first_party=args.first_party,
    )


async def create_client(spec: clients.ClientSpec) -> dict[str, object]:
    from ciam_auth.main import SPEC

    settings = AuthSettings()
    # The runtime's session factory knows the outbox, so the registration event is staged
    # and the running service's relay publishes it.
    runtime = ServiceRuntime.build(SPEC, settings)
    try:
        async with unit_of_work(runtime.sessions) as session:
            client, secret = await clients.register(
                session, spec, topic_prefix=settings.topic_prefix
            )
            return {"client_id": client.client_id, "client_secret": secret}
    finally:
        await runtime.engine.dispose()
        await runtime.redis.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ciam_auth.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-client", help="register an OIDC client (brand app)")
    create.add_argument("--name", required=True)
    create.add_argument("--brand")
    create.add_argument("--redirect-uri", action="append", default=[])
    create.add_argument("--post-logout-redirect-uri", action="append", default=[])
    create.add_argument("--scope", action="append", default=[])
    create.add_argument("--purpose", action="append", default=[])
    create.add_argument(
        "--grant",
        action="append",
        default=[],
        choices=["authorization_code", "refresh_token", "client_credentials"],
    )
    create.add_argument(
        "--auth-method",
        default="client_secret_basic",
        choices=["client_secret_basic", "client_secret_post", "none"],
    )
    create.add_argument("--first-party", action="store_true")
    args = parser.parse_args(argv)
    spec = client_spec(args)
    try:
        clients.check(spec)  # before touching the database: nothing is written when refused
    except clients.InvalidClientRegistration as exc:
        print(f"create-client: refused: {exc.detail}", file=sys.stderr)
        return 2
    print(json.dumps(asyncio.run(create_client(spec))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
