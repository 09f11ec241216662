"""The security headers of every HTML page auth serves (its own pages, the provider's consent
and sign-out pages, social sign-in's pages): one policy, so no page is weaker than another.

Scripts and style sheets come only from auth itself (`/assets/...`, assets.py; the privacy
and passkey scripts), and scripts call only auth itself (the passkey API, the privacy page's
live SSE): no inline script runs. Inline styles stay allowed for now because page templates
still carry small `<style>` blocks; images may be `data:` URIs (the TOTP QR code) or, on
social pages, the provider's https pictures.
"""

from __future__ import annotations

NOSNIFF = {"X-Content-Type-Options": "nosniff"}


def page_headers(
    *,
    form_action: str | None = None,
    img_src: str = "'self' data:",
    referrer: str | None = None,
    frame_ancestors: list[str] | None = None,
) -> dict[str, str]:
    """`form_action` stays unset on pages whose forms end in a redirect to an app (a browser
    applies form-action to the redirects after a post, and the sign-in ends at the app's
    redirect URI). Without `referrer`, the service-wide `same-origin` applies (middleware.py:
    under `no-referrer` a browser sends `Origin: null` with the page's own form posts).
    `frame_ancestors`: the origins a brand app registered to frame the privacy pages opened
    with its client_id (theming.py); every other page may be framed by nobody."""
    ancestors = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    policy = [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        f"img-src {img_src}",
        "base-uri 'none'",
        f"frame-ancestors {ancestors}",
    ]
    if form_action is not None:
        policy.append(f"form-action {form_action}")
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": "; ".join(policy),
        **NOSNIFF,
    }
    if not frame_ancestors:
        # For browsers without CSP frame-ancestors; it has no allow-list form, so a page that
        # some origins may frame relies on the CSP alone (every current browser applies it).
        headers["X-Frame-Options"] = "DENY"
    if referrer is not None:
        headers["Referrer-Policy"] = referrer
    return headers
