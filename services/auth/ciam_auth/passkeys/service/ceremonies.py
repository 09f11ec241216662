"""The two WebAuthn ceremonies: registering a passkey and signing in with one.

py_webauthn (`webauthn`) checks each response: the challenge, the origin (one of
`rp_origins`), the RP id hash, the flags (user present; user verified where the flow says),
the signature. Around it we keep what the library cannot: the challenge is ours, single use
and expiring (challenges.py); a credential id is registered once across all accounts; the
signature counter of a device-bound credential must grow, and one going backwards (a clone)
flags the credential, committed before the refusal.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ciam_auth.adapters.throttle import Throttled, client_key
from ciam_auth.context import SOURCE, AuthContext
from ciam_auth.errors import EmailNotVerified
from ciam_auth.models import Account
from ciam_auth.passkeys import repository
from ciam_auth.passkeys.aaguids import model_name
from ciam_auth.passkeys.challenges import REGISTER, SIGN_IN, Challenge, Challenges
from ciam_auth.passkeys.errors import (
    FreshSignInRequired,
    PasskeyAlreadyRegistered,
    PasskeyRefused,
)
from ciam_auth.passkeys.models import Passkey
from ciam_auth.sessions.service import Client
from ciam_auth.sessions.store import Session
from ciam_auth.transactions import CommitThenRefuse
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, PasskeyAdded
from ciam_shared.outbox import stage

log = logging.getLogger(__name__)

# RFC 8176 values for a passkey sign-in with user verification: proof of possession of a key
# ("pop"), the user verified on the device ("user"), two factors in one gesture ("mfa": the
# device and the PIN or biometric). `phr` (acr) is derived from "pop" (oidc/tokens.py).
PASSKEY_AMR = ["pop", "user", "mfa"]
MAX_NAME = 64


def challenges(ctx: AuthContext) -> Challenges:
    return Challenges(
        ctx.redis, prefix=ctx.redis_prefix, ttl_seconds=ctx.settings.webauthn_challenge_seconds
    )


def options_json(options: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


def _b64(raw: bytes) -> str:
    return bytes_to_base64url(raw)


def client_challenge(client_data_json: bytes) -> bytes:
    try:
        return parse_client_data_json(client_data_json).challenge
    except Exception:  # malformed: the same refusal as any other
        raise PasskeyRefused("The passkey response is not valid.") from None


def refuse(reason: str) -> PasskeyRefused:
    log.warning("passkey refused", extra={"reason": reason})
    return PasskeyRefused("The passkey was not accepted. Try again.")


def recent_sign_in(ctx: AuthContext, signed_in: Session) -> bool:
    age = (utcnow() - signed_in.auth_time).total_seconds()
    return age <= ctx.settings.reauth_window_seconds


async def registration_options(
    session: AsyncSession, ctx: AuthContext, account: Account, signed_in: Session
) -> dict[str, Any]:
    """Creation options for a new discoverable passkey with user verification. Adding a way in
    needs a recent sign-in (a borrowed, long-open session must not plant a passkey)."""
    if not recent_sign_in(ctx, signed_in):
        raise FreshSignInRequired("Sign in again to add a passkey.")
    existing = await repository.of_account(session, account.id)
    challenge = await challenges(ctx).issue(
        REGISTER, account_id=str(account.id), session_id=signed_in.id
    )
    return creation_options(
        ctx,
        challenge,
        user_name=account.email or str(account.id),
        user_id=account.id,
        exclude=[p.credential_id for p in existing],
    )


def creation_options(
    ctx: AuthContext,
    challenge: Challenge,
    *,
    user_name: str,
    user_id: uuid.UUID,
    exclude: Sequence[str] = (),
) -> dict[str, Any]:
    """Creation options for a discoverable passkey with user verification, for an account
    (adding one) or for a sign-up (the account's id drawn already)."""
    settings = ctx.settings
    options = generate_registration_options(
        rp_id=settings.rp_id,
        rp_name=settings.webauthn_rp_name,
        user_name=user_name,
        user_id=user_id.bytes,  # the user handle: random, no personal data
        challenge=challenge.value,
        timeout=settings.webauthn_challenge_seconds * 1000,
        attestation=AttestationConveyancePreference(settings.webauthn_attestation),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=_raw(c)) for c in exclude],
    )
    return options_json(options)


def _raw(credential_id: str) -> bytes:
    return base64url_to_bytes(credential_id)


@dataclass(frozen=True)
class NewPasskey:
    """A registration response checked against its challenge; its credential id unused."""

    credential_id: str
    public_key: bytes
    sign_count: int
    aaguid: str
    transports: list[str]
    synced: bool
    backed_up: bool

    def as_json(self) -> dict[str, Any]:
        """For a job row (a sign-up creates the account and its passkey later)."""
        return {**asdict(self), "public_key": base64.b64encode(self.public_key).decode()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NewPasskey:
        fields = {name: data[name] for name in cls.__dataclass_fields__}
        return cls(**fields | {"public_key": base64.b64decode(data["public_key"])})

    def passkey(self, account_id: uuid.UUID, name: str, created_at: datetime) -> Passkey:
        return Passkey(
            id=uuid.uuid4(),
            account_id=account_id,
            credential_id=self.credential_id,
            public_key=self.public_key,
            sign_count=self.sign_count,
            aaguid=self.aaguid,
            name=_name(name) or model_name(self.aaguid) or "Passkey",
            transports=self.transports,
            synced=self.synced,
            backed_up=self.backed_up,
            created_at=created_at,
        )


async def verify_new_passkey(
    session: AsyncSession,
    ctx: AuthContext,
    response: dict[str, Any],
    purpose: str,
    refusal: Callable[[Challenge], str | None],
) -> tuple[Challenge, NewPasskey]:
    """The one check of a registration response, for adding a passkey and for a sign-up: the
    challenge taken (single use) and accepted by `refusal` (None, or why not), the
    attestation verified (origin, RP id, user verification), the credential not registered."""
    try:
        credential = parse_registration_credential_json(response)
    except Exception:
        raise refuse(f"malformed {purpose} response") from None
    challenge = await challenges(ctx).take(
        client_challenge(credential.response.client_data_json), purpose
    )
    if challenge is None:
        raise refuse(f"unknown, spent or expired {purpose} challenge")
    reason = refusal(challenge)
    if reason is not None:
        raise refuse(reason)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge.value,
            expected_rp_id=ctx.settings.rp_id,
            expected_origin=ctx.settings.rp_origins,
            require_user_verification=True,
        )
    except WebAuthnException as exc:
        raise refuse(f"{purpose}: {exc}") from None
    credential_id = _b64(verified.credential_id)
    if await repository.by_credential_id(session, credential_id) is not None:
        raise PasskeyAlreadyRegistered("This passkey is registered already.")
    return challenge, NewPasskey(
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        transports=[t.value for t in credential.response.transports or []][:8],
        synced=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up,
    )


async def register(
    session: AsyncSession,
    ctx: AuthContext,
    account: Account,
    signed_in: Session,
    response: dict[str, Any],
    name: str = "",
) -> Passkey:
    def refusal(challenge: Challenge) -> str | None:
        if challenge.account_id != str(account.id) or challenge.session_id != signed_in.id:
            return "challenge issued to another account or session"
        return None

    _, new = await verify_new_passkey(session, ctx, response, REGISTER, refusal)
    passkey = new.passkey(account.id, name, utcnow())
    synced = new.synced
    repository.add(session, passkey)
    try:
        await session.flush()
    except IntegrityError:  # registered at the same moment elsewhere: the unique index says so
        raise PasskeyAlreadyRegistered("This passkey is registered already.") from None
    event = PasskeyAdded(subject_id=account.id, added_at=passkey.created_at, synced=synced)
    await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=ctx.topic_prefix)
    return passkey


def _name(name: str) -> str:
    return " ".join(name.split())[:MAX_NAME]


async def authentication_options(ctx: AuthContext, client: Client) -> dict[str, Any]:
    """Request options for a discoverable credential (no allow list: no address typed, none
    revealed), user verification required: a passkey sign-in is multi-factor. Each call stores
    a challenge in Redis, so a client address gets as many as it gets sign-in attempts
    (`throttle_client_limit` per `throttle_window_seconds`), not an unbounded number."""
    window = ctx.settings.throttle_window_seconds
    if not await ctx.throttle.limit(
        "passkey-sign-in",
        client_key(client.address),
        limit=ctx.settings.throttle_client_limit,
        window=window,
    ):
        raise Throttled(window)
    challenge = await challenges(ctx).issue(SIGN_IN, user_verification=True)
    options = generate_authentication_options(
        rp_id=ctx.settings.rp_id,
        challenge=challenge.value,
        timeout=ctx.settings.webauthn_challenge_seconds * 1000,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_json(options)


@dataclass(frozen=True)
class Asserted:
    account: Account
    passkey: Passkey
    user_verified: bool


async def authenticate(
    session: AsyncSession, ctx: AuthContext, response: dict[str, Any]
) -> Asserted:
    """The account whose passkey signed this challenge, or PasskeyRefused."""
    try:
        credential = parse_authentication_credential_json(response)
    except Exception:
        raise refuse("malformed authentication response") from None
    value = client_challenge(credential.response.client_data_json)
    challenge = await challenges(ctx).take(value, SIGN_IN)
    if challenge is None:
        raise refuse("unknown, spent or expired challenge")
    passkey = await repository.lock_by_credential_id(session, _b64(credential.raw_id))
    if passkey is None:
        raise refuse("unknown credential")
    if passkey.flagged_at is not None:
        raise refuse("flagged credential (its counter went backwards)")
    handle = credential.response.user_handle
    if handle is not None and handle != passkey.account_id.bytes:
        raise refuse("user handle of another account")
    return await _verify(session, ctx, passkey, credential, challenge)


async def _verify(
    session: AsyncSession,
    ctx: AuthContext,
    passkey: Passkey,
    credential: Any,
    challenge: Challenge,
) -> Asserted:
    try:
        # The counter is compared below, after the signature is known to be the credential's
        # (so a forged response cannot flag someone's passkey); 0 here skips the library's.
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge.value,
            expected_rp_id=ctx.settings.rp_id,
            expected_origin=ctx.settings.rp_origins,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=0,
            require_user_verification=challenge.user_verification,
        )
    except WebAuthnException as exc:
        raise refuse(f"authentication: {exc}") from None
    new, old = verified.new_sign_count, passkey.sign_count
    if not passkey.synced and (new > 0 or old > 0) and new <= old:
        # A device-bound key signs with a growing counter; a smaller or equal one means a
        # copy of the key is in use. Flag it (committed), report it, refuse.
        passkey.flagged_at = utcnow()
        log.warning(
            "passkey counter went backwards: credential flagged",
            extra={"passkey_id": str(passkey.id), "account_id": str(passkey.account_id)},
        )
        raise CommitThenRefuse(PasskeyRefused("The passkey was not accepted. Try again."))
    account = await repository.account(session, passkey.account_id)
    if account is None:
        raise refuse("credential of a deleted account")
    if account.email is not None and account.email_verified_at is None:
        raise EmailNotVerified("Confirm your email address first: use the link or the code.")
    passkey.sign_count = max(new, old)
    passkey.backed_up = verified.credential_backed_up
    passkey.last_used_at = utcnow()
    return Asserted(account=account, passkey=passkey, user_verified=verified.user_verified)
