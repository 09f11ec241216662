"""The JOSE header checks every JWS we verify goes through before any key is chosen: our own
access tokens (`ciam_shared.tokens.verifier`) and tokens signed by others (auth's client
assertions and upstream ID tokens, `ciam_auth.adapters.jws_check`).

The algorithm allowlist always comes from our side, never from the token: `none` and HS256
(with a public key as the HMAC secret) are in no list. `crit` is refused: we understand no
extension. The signature check that follows parses the token again with the JOSE library.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

Defect = Literal["malformed", "algorithm", "type", "crit", "kid"]


class HeaderRefused(Exception):
    """The header is not acceptable; `defect` says which check failed (callers word it)."""

    def __init__(self, defect: Defect, detail: str) -> None:
        super().__init__(detail)
        self.defect: Defect = defect


@dataclass(frozen=True, slots=True)
class JoseHeader:
    fields: dict[str, Any]
    alg: str
    kid: str | None


def jose_header(
    token: str,
    algorithms: Collection[str],
    *,
    types: Collection[str] | None = None,
    require_kid: bool = False,
) -> JoseHeader:
    """The compact JWS's protected header, checked in this order: three segments and a JSON
    object, `alg` on the allowlist, `typ` (case-insensitive) among `types` when given, no
    `crit`, `kid` a string (and present and non-empty when `require_kid`)."""
    if token.count(".") != 2:
        raise HeaderRefused("malformed", "not a compact JWS")
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeError):
        raise HeaderRefused("malformed", "malformed header") from None
    if not isinstance(header, dict):
        raise HeaderRefused("malformed", "malformed header")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        raise HeaderRefused("algorithm", f"algorithm not allowed: {alg!r}")
    if types is not None:
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in types:
            raise HeaderRefused("type", f"type not accepted: {typ!r}")
    if "crit" in header:
        raise HeaderRefused("crit", "crit header not understood")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise HeaderRefused("kid", "kid is not a string")
    if require_kid and not kid:
        raise HeaderRefused("kid", "no kid")
    return JoseHeader(header, alg, kid)
