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
    *, form_action: str | None = None, img_src: str = "'self' data:", referrer: str | None = None
) -> dict[str, str]:
    """`form_action` stays unset on pages whose forms end in a redirect to an app (a browser
    applies form-action to the redirects after a post, and the sign-in ends at the app's
    redirect URI). Without `referrer`, the service-wide `same-origin` applies (middleware.py:
    under `no-referrer` a browser sends `Origin: null` with the page's own form posts)."""
    policy = [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        f"img-src {img_src}",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
    if form_action is not None:
        policy.append(f"form-action {form_action}")
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": "; ".join(policy),
        "X-Frame-Options": "DENY",
        **NOSNIFF,
    }
    if referrer is not None:
        headers["Referrer-Policy"] = referrer
    return headers
