"""Which scopes a request needs, and the answer when the token lacks one.

The principal comes first (`principal_of`: customer, app or admin); the scope second. A
refusal names the scope it missed, in the problem document (`scope`) and in the RFC 6750
section 3.1 challenge (`insufficient_scope`), so an app knows what to ask the customer for.
"""

from __future__ import annotations

from ciam_shared.tokens.principal import Forbidden, Kind, Principal


class ScopeMissing(Forbidden):
    type_slug = "insufficient-scope"
    title = "Scope missing"

    def __init__(self, scope: str, detail: str = "") -> None:
        super().__init__(detail or f"This needs the `{scope}` scope.", scope=scope)
        self.headers = {"www-authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'}


def require_scope(principal: Principal, scope: str) -> None:
    if scope not in principal.scopes:
        if principal.kind is Kind.CUSTOMER:
            raise ScopeMissing(
                scope, f"This needs the `{scope}` scope, which the customer did not grant."
            )
        raise ScopeMissing(scope)
