"""Authentication context class (`acr`) of a sign-in, from its methods (`amr`, RFC 8176).

- `phr`: phishing-resistant (the OpenID EAP ACR value): a passkey with user verification,
  whose amr carries `pop`. An app asking `acr_values=phr` gets a passkey sign-in or nothing.
- `mfa`: two factors, not phishing-resistant (password or social sign-in plus TOTP).
- `pwd`: one factor (a password, a social sign-in, an email code).
"""

from __future__ import annotations

PHISHING_RESISTANT = "phr"
ACR_VALUES = (PHISHING_RESISTANT, "mfa", "pwd")


def acr_of(amr: list[str]) -> str:
    if "pop" in amr:
        return PHISHING_RESISTANT
    if "mfa" in amr:
        return "mfa"
    return "pwd"
