"""A software authenticator: WebAuthn responses made in Python, for service-level tests.

An EC P-256 key per credential; authenticatorData, clientDataJSON and the attestation object
("none" format) are built here byte by byte, as a platform authenticator would, so that tests
can also build the wrong ones (another origin, another RP id, no user verification, a counter
going backwards):

    key = SoftAuthenticator(origin="http://localhost:8001")
    response = key.create(options)              # options: the server's creation options (JSON)
    assertion = key.get(request_options)        # discoverable: the first credential for the RP

`options` are the JSON dicts the server sends (`publicKey` members, base64url challenge).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
# The AAGUID a test authenticator claims unless told otherwise (all zeros: "unknown model").
ZERO_AAGUID = bytes(16)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftCredential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )


@dataclass
class SoftAuthenticator:
    """`origin`: what the "browser" puts in clientDataJSON. `counter`: False makes a synced
    authenticator's habit (always 0). `backup_eligible`/`backed_up`: the BE/BS flags."""

    origin: str
    aaguid: bytes = ZERO_AAGUID
    user_verifying: bool = True
    backup_eligible: bool = False
    backed_up: bool = False
    counter: bool = True
    credentials: list[SoftCredential] = field(default_factory=list)

    def _flags(self, extra: int, *, uv: bool | None = None) -> int:
        flags = UP | extra
        if self.user_verifying if uv is None else uv:
            flags |= UV
        if self.backup_eligible:
            flags |= BE
        if self.backed_up:
            flags |= BS
        return flags

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps(data, separators=(",", ":")).encode()

    def create(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        uv: bool | None = None,
        credential_id: bytes | None = None,
    ) -> dict[str, Any]:
        """The response of navigator.credentials.create() to these creation options (JSON)."""
        rp = rp_id or options["rp"].get("id") or urlsplit(self.origin).hostname or ""
        credential = SoftCredential(
            credential_id=credential_id or secrets.token_bytes(32),
            key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp,
            user_handle=unb64url(options["user"]["id"]),
        )
        cose = credential.cose_public_key()
        attested = (
            self.aaguid
            + struct.pack(">H", len(credential.credential_id))
            + credential.credential_id
            + cose
        )
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([self._flags(AT, uv=uv)])
            + struct.pack(">I", 0)
            + attested
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        self.credentials.append(credential)
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": b64url(credential.credential_id),
            "rawId": b64url(credential.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        uv: bool | None = None,
        credential: SoftCredential | None = None,
        sign_count: int | None = None,
    ) -> dict[str, Any]:
        """The response of navigator.credentials.get() to these request options (JSON): with the
        given credential, else one the options allow, else (discoverable) the first for the RP."""
        rp = options.get("rpId") or urlsplit(self.origin).hostname or ""
        allowed = {c["id"] for c in options.get("allowCredentials", [])}
        if credential is None:
            usable = [c for c in self.credentials if c.rp_id == rp]
            if allowed:
                usable = [c for c in usable if b64url(c.credential_id) in allowed]
            if not usable:
                raise LookupError("no credential of this authenticator for that relying party")
            credential = usable[0]
        if sign_count is not None:
            credential.sign_count = sign_count
        elif self.counter:
            credential.sign_count += 1
        auth_data = (
            hashlib.sha256((rp_id or credential.rp_id).encode()).digest()
            + bytes([self._flags(0, uv=uv)])
            + struct.pack(">I", credential.sign_count if self.counter or sign_count else 0)
        )
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = credential.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(credential.credential_id),
            "rawId": b64url(credential.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(credential.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }
