"""An upstream provider under the test's control: a loopback server serving discovery, JWKS
and a token endpoint that hands out whatever ID token the test prepared for a code (forged,
expired, unsigned...). It checks PKCE like a real provider, and can be down, slow or answer
garbage."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "evil-client"
CLIENT_SECRET = "evil-secret-0123456789abcdef0123456789"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class EvilProvider:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (id token, PKCE challenge)
        self.issuer_in_discovery: str | None = None  # another value: a lying discovery
        self.mode = "ok"  # "slow", "garbage", "500"
        # Set: discovery names a userinfo endpoint answering this for the access token "at".
        self.userinfo: dict[str, Any] | None = None
        self.slow_s = 8.0  # longer than any timeout the fixtures set
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.issuer = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)  # fmt: skip

    def __enter__(self) -> EvilProvider:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.url}/authorize"

    def config(self, provider_id: str = "evil") -> dict[str, Any]:
        return {
            "id": provider_id,
            "label": "Evil",
            "issuer": self.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scopes": ["openid", "email", "profile"],
            "algorithms": ["RS256"],
        }

    # -- tokens ---------------------------------------------------------------------------

    def claims(self, nonce: str, /, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "evil-user-1",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "email": "someone@example.com",
            "email_verified": True,
            "name": "Eve Example",
        }
        claims |= overrides
        return {k: v for k, v in claims.items() if v is not None}

    def sign(
        self,
        claims: dict[str, Any],
        *,
        key: RSAKey | None = None,
        kid: str = "k1",
        typ: str = "JWT",
    ) -> str:
        return jwt.encode({"alg": "RS256", "kid": kid, "typ": typ}, claims, key or self.key)

    def unsigned(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        return f"{header}.{_b64(json.dumps(claims).encode())}."

    def hs256_with_public_key(self, claims: dict[str, Any]) -> str:
        """The classic confusion: HMAC keyed with the provider's public key (which anyone has)."""
        public_pem = self.key.as_pem(private=False)
        header = _b64(json.dumps({"alg": "HS256", "kid": "k1", "typ": "JWT"}).encode())
        signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"

    def issue(self, id_token: str, challenge: str) -> str:
        code = secrets.token_urlsafe(16)
        self.codes[code] = (id_token, challenge)
        return code

    # -- HTTP -------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if provider.mode == "slow":
                    time.sleep(provider.slow_s)
                if provider.mode == "garbage":
                    return self._raw(200, b"<html>oops</html>", "text/html")
                if self.path.startswith("/.well-known/openid-configuration"):
                    userinfo = {"userinfo_endpoint": f"{provider.url}/userinfo"}
                    return self._send(200, {
                        "issuer": provider.issuer_in_discovery or provider.issuer,
                        "authorization_endpoint": f"{provider.url}/authorize",
                        "token_endpoint": f"{provider.url}/token",
                        "jwks_uri": f"{provider.url}/jwks",
                        "authorization_response_iss_parameter_supported": True,
                        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                    } | (userinfo if provider.userinfo is not None else {}))  # fmt: skip
                if self.path == "/userinfo" and provider.userinfo is not None:
                    if self.headers.get("authorization") != "Bearer at":
                        return self._send(401, {"error": "invalid_token"})
                    return self._send(200, provider.userinfo)
                if self.path == "/jwks":
                    return self._send(200, {"keys": [provider.key.as_dict(private=False)]})
                self._send(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if provider.mode == "slow":
                    time.sleep(provider.slow_s)
                if provider.mode == "garbage":
                    return self._raw(200, b"<html>oops</html>", "text/html")
                if provider.mode == "500":
                    return self._raw(500, b"Internal Server Error", "text/plain")
                expected = "Basic " + base64.b64encode(
                    f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()  # fmt: skip
                if self.headers.get("authorization") != expected:
                    return self._send(401, {"error": "invalid_client"})
                entry = provider.codes.pop(form.get("code", ""), None)
                if entry is None:
                    return self._send(400, {"error": "invalid_grant"})
                id_token, challenge = entry
                verifier = form.get("code_verifier", "")
                if _b64(hashlib.sha256(verifier.encode()).digest()) != challenge:
                    return self._send(400, {"error": "invalid_grant", "error_description": "pkce"})
                self._send(
                    200, {"access_token": "at", "token_type": "Bearer", "id_token": id_token}
                )

            def _send(self, status: int, body: dict[str, Any]) -> None:
                self._raw(status, json.dumps(body).encode(), "application/json")

            def _raw(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
