"""Token signing keys: ES256, encrypted at rest, rotated with an overlap window.

The newest unretired key signs. A rotation adds a key and retires the previous one; a retired
key stays in the JWKS for `key_overlap_s`, longer than any token it signed lives, so verifiers
with a cached JWKS and verifiers that refetch on an unknown `kid` both keep working.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc.jwk import ECKey, KeySet
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.adapters.sealing import KeyEncryption
from ciam_auth.models import SigningKey
from ciam_auth.oidc.repository import keys as repository
from ciam_shared.db import utcnow

log = logging.getLogger(__name__)

ALG = "ES256"
_ECDSA = ec.ECDSA(hashes.SHA256())


def _b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    key: ECKey
    created_at: datetime
    retired_at: datetime | None


class KeyRing:
    """The keys in memory. `load` reads them from the database (every replica does, on start
    and periodically); `sign` uses the active one."""

    def __init__(self, encryption: KeyEncryption, overlap: timedelta) -> None:
        self._encryption = encryption
        self._overlap = overlap
        self._keys: list[LoadedKey] = []
        self._public = KeySet([])

    async def load(self, session: AsyncSession, *, create_if_missing: bool = True) -> None:
        horizon = utcnow() - self._overlap
        rows = await repository.signing_keys(session)
        keys = [
            LoadedKey(
                row.kid,
                ECKey.import_key(json.loads(self._encryption.open(row.private_jwk))),
                row.created_at,
                row.retired_at,
            )
            for row in rows
            if row.retired_at is None or row.retired_at > horizon
        ]
        if not any(k.retired_at is None for k in keys) and create_if_missing:
            keys.append(await self._add(session))
        self._keys = keys
        self._public = KeySet([k.key for k in keys])

    async def _add(self, session: AsyncSession) -> LoadedKey:
        kid = secrets.token_urlsafe(12)
        key = ECKey.generate_key("P-256", parameters={"kid": kid, "alg": ALG, "use": "sig"})
        now = utcnow()
        await repository.add_signing_key(
            session,
            SigningKey(
                kid=kid,
                alg=ALG,
                private_jwk=self._encryption.seal(json.dumps(key.as_dict(private=True)).encode()),
                public_jwk=key.as_dict(private=False),
                created_at=now,
            ),
        )
        log.info("signing key created", extra={"kid": kid})
        return LoadedKey(kid, key, now, None)

    async def rotate(self, session: AsyncSession) -> str:
        """Retire every active key and add a new one; call `load` after the commit."""
        await repository.retire_active_keys(session, utcnow())
        return (await self._add(session)).kid

    @property
    def active(self) -> LoadedKey:
        # Two replicas may race to create the first key: the newest one signs, both verify.
        return max((k for k in self._keys if k.retired_at is None), key=lambda k: k.created_at)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.key.as_dict(private=False) for k in self._keys]}

    def sign(self, claims: dict[str, Any], *, typ: str) -> str:
        """A compact JWS (RFC 7515) of `claims` with the active key: ES256 over
        `b64(header).b64(payload)`, the signature as r || s (RFC 7518 3.4). Written out rather
        than through joserfc's generic encoder, which cost as much again as the ECDSA itself
        on the token endpoint's hot path; tests verify these tokens with joserfc and with
        the shared verifier."""
        active = self.active
        header = _b64(
            json.dumps({"alg": ALG, "typ": typ, "kid": active.kid}, separators=(",", ":"))
        )
        payload = _b64(json.dumps(claims, separators=(",", ":")))
        signing_input = f"{header}.{payload}"
        private = active.key.private_key
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        r, s = decode_dss_signature(private.sign(signing_input.encode(), _ECDSA))
        return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    @property
    def public(self) -> KeySet:
        return self._public
