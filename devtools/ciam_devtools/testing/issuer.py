"""A stand-in token issuer for tests and benchmarks: a real loopback HTTP server publishing
OIDC discovery and a JWKS of ES256 keys, and `mint()` for access tokens in the auth service's
contract (RFC 9068). The services under test fetch its JWKS over HTTP exactly as they fetch the
auth service's, so the verification path is the production one.

    with TokenIssuer() as issuer:
        mine = issuer.customer_token(str(account_id))  # auth's own pages, every customer scope
        quiz = issuer.customer_token(str(account_id), client_id="quiz", scopes=["openid"])
        shop = issuer.app_token("shop-web", scopes=["consent:read"])
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

from ciam_shared.tokens.scopes import CUSTOMER_SCOPES, FIRST_PARTY_CLIENT

DEFAULT_AUDIENCE = "ciam"
DEFAULT_CLIENT = "test-client"


class TokenIssuer:
    def __init__(self, audience: str = DEFAULT_AUDIENCE) -> None:
        self.audience = audience
        self.keys: dict[str, ECKey] = {}
        self.current_kid = self.rotate()
        self.jwks_requests = 0
        # Tests of an unreachable issuer flip this: the JWKS then answers 503.
        self.unavailable = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread: threading.Thread | None = None

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/.well-known/jwks.json"

    def start(self) -> TokenIssuer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="token-issuer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> TokenIssuer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def rotate(self) -> str:
        """A new signing key, published next to the old ones, used from now on."""
        kid = uuid.uuid4().hex[:12]
        self.keys[kid] = ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig"})
        self.current_kid = kid
        return kid

    def retire(self, kid: str) -> None:
        del self.keys[kid]

    def jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                key.as_dict(private=False) | {"kid": kid, "alg": "ES256", "use": "sig"}
                for kid, key in list(self.keys.items())
            ]
        }

    def mint(
        self,
        sub: str,
        *,
        scopes: Iterable[str] = (),
        client_id: str | None = None,
        brand: str | None = None,
        ttl: int = 300,
        typ: str = "at+jwt",
        audience: str | list[str] | None = None,
        issuer: str | None = None,
        kid: str | None = None,
        key: ECKey | None = None,
        headers: Mapping[str, Any] | None = None,
        claims: Mapping[str, Any] | None = None,
        drop: Iterable[str] = (),
    ) -> str:
        """An access token as the auth service issues it. An app's own token: `client_id`
        equal to `sub`; a customer's: `sub` an account id, `client_id` the app (by default
        DEFAULT_CLIENT). `headers`/`claims` override or add members, `drop` removes claims:
        for the tests of tokens the verifier must refuse."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": issuer or self.url,
            "aud": audience or self.audience,
            "sub": sub,
            "client_id": client_id or DEFAULT_CLIENT,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "scope": " ".join(scopes),
        }
        if brand is not None:
            body["brand"] = brand
        body |= dict(claims or {})
        for name in drop:
            body.pop(name, None)
        kid = kid or self.current_kid
        header = {"alg": "ES256", "typ": typ, "kid": kid} | dict(headers or {})
        return jwt.encode(header, body, key or self.keys[kid])

    def app_token(self, client_id: str, **kwargs: Any) -> str:
        """An app's own token (client credentials): `sub` == `client_id`."""
        return self.mint(client_id, client_id=client_id, **kwargs)

    def customer_token(
        self,
        account_id: str,
        *,
        client_id: str = FIRST_PARTY_CLIENT,
        scopes: Iterable[str] = CUSTOMER_SCOPES,
        **kwargs: Any,
    ) -> str:
        """A customer's token (authorization code): `sub` the account, `client_id` the app the
        customer signed in with, `scopes` what the customer granted it. By default the auth
        service's own pages (the first-party client) with every customer scope; a third-party
        app's token names its client id (registered in the apps topic) and its scopes."""
        if client_id == account_id:
            raise ValueError("a customer token names an account, not the client")
        return self.mint(account_id, client_id=client_id, scopes=sorted(scopes), **kwargs)

    def bearer(self, token: str) -> dict[str, str]:
        return {"authorization": f"Bearer {token}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/jwks.json":
                    issuer.jwks_requests += 1
                    if issuer.unavailable:
                        return self._send(503, {"error": "unavailable"})
                    return self._send(200, issuer.jwks())
                if self.path == "/.well-known/openid-configuration":
                    return self._send(
                        200,
                        {
                            "issuer": issuer.url,
                            "jwks_uri": issuer.jwks_url,
                            "id_token_signing_alg_values_supported": ["ES256"],
                        },
                    )
                return self._send(404, {"error": "not found"})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests read assertions, not access logs

        return Handler
