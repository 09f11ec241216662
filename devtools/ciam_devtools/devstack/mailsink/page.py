"""The mail page: every caught mail, newest first, decoded; a JSON listing for tests; the raw
`.eml` of each.

A mail is untrusted input rendered into our page, so nothing of it reaches the page unescaped:
text parts are escaped (only http(s) links become anchors), and an HTML part is shown in an
iframe with an empty-origin sandbox (no scripts, no forms) whose document is the escaped
`srcdoc`. The page's CSP, which the srcdoc document inherits, loads nothing from anywhere
(no remote images: no tracking pixel fires, nothing needs the internet).
"""

from __future__ import annotations

import re
from html import escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ciam_devtools.devstack.mailsink.store import CaughtMail, MailStore

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
# A URL ends before whitespace, quotes and angle brackets; trailing sentence punctuation is not
# part of it ("...open this link: https://x/y.").
_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}'"

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 52rem; padding: 1rem;
       color: #1b1f24; background: #f6f7f9; }
header p { color: #555; margin: .25rem 0 1rem; overflow-wrap: anywhere; }
article { background: #fff; border: 1px solid #d8dde3; border-radius: 6px; padding: .75rem 1rem;
          margin: 0 0 1rem; }
h1 { font-size: 1.4rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 0 0 .5rem; overflow-wrap: anywhere; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .75rem; margin: 0 0 .5rem;
     font-size: .9rem; }
dt { color: #555; }
dd { margin: 0; overflow-wrap: anywhere; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f7f9; padding: .5rem;
      border-radius: 4px; margin: .5rem 0; font: 14px/1.4 ui-monospace, monospace; }
iframe { width: 100%; height: 20rem; border: 1px solid #d8dde3; border-radius: 4px;
         background: #fff; }
a { color: #0b57d0; }
.meta { font-size: .85rem; color: #555; overflow-wrap: anywhere; }
.empty { color: #555; }
"""


def linkify(text: str) -> str:
    """`text` escaped for HTML, with each http(s) URL in it an anchor."""
    out: list[str] = []
    at = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        end = match.start() + len(url)
        out.append(escape(text[at : match.start()]))
        href = escape(url, quote=True)
        out.append(f'<a href="{href}" rel="noreferrer noopener" target="_blank">{href}</a>')
        at = end
    out.append(escape(text[at:]))
    return "".join(out)


def _article(mail: CaughtMail) -> str:
    rows = [
        ("From", mail.sender),
        ("To", ", ".join(mail.to) or ", ".join(mail.envelope_to)),
        ("Date", mail.date),
        ("Received", mail.received_at[:19].replace("T", " ") + " UTC"),
    ]
    rows = [(k, v) for k, v in rows if v]
    if mail.attachments:
        rows.append(("Attached", ", ".join(mail.attachments)))
    parts = [
        f'<article id="{mail.id}">',
        f"<h2>{escape(mail.subject) or '(no subject)'}</h2>",
        "<dl>" + "".join(f"<dt>{k}</dt><dd>{escape(v)}</dd>" for k, v in rows) + "</dl>",
    ]
    if mail.text is not None:
        parts.append(f'<pre class="text">{linkify(mail.text)}</pre>')
    if mail.html is not None:
        # Links in the HTML open in a new tab, outside the sandbox; scripts never run.
        document = '<base target="_blank">' + mail.html
        parts += [
            '<iframe title="HTML part" sandbox="allow-popups allow-popups-to-escape-sandbox" '
            f'referrerpolicy="no-referrer" srcdoc="{escape(document, quote=True)}"></iframe>',
            f"<details><summary>HTML source</summary><pre>{escape(mail.html)}</pre></details>",
        ]
    parts.append(
        f'<p class="meta"><a href="/messages/{mail.id}.eml">raw .eml</a> · {mail.id}.eml</p>'
    )
    parts.append("</article>")
    return "\n".join(parts)


def render(mails: list[CaughtMail], *, smtp: str, directory: str, total: int) -> str:
    shown = f"the newest {len(mails)} of {total}" if total > len(mails) else f"{total}"
    body = "\n".join(_article(m) for m in mails) or (
        '<p class="empty">No mail yet. Anything sent to the SMTP server above shows here.</p>'
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mail ({total}) · CIAM dev</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>Mail</h1>
<p>SMTP {escape(smtp)} · {shown} caught, newest first · raw files in {escape(directory)} ·
<a href="/">refresh</a> · <a href="/api/messages">JSON</a></p>
</header>
<main>
{body}
</main>
</body>
</html>
"""


def _limit(request: Request) -> int:
    try:
        value = int(request.query_params.get("limit", DEFAULT_LIMIT))
    except ValueError:
        value = DEFAULT_LIMIT
    return max(1, min(MAX_LIMIT, value))


def create_app(store: MailStore, *, smtp: str) -> Starlette:
    # Plain functions: Starlette runs them in its thread pool, so reading the files never
    # holds up the SMTP server on the event loop.
    def page(request: Request) -> Response:
        total = len(store.ids())
        mails = store.latest(_limit(request))
        html = render(mails, smtp=smtp, directory=str(store.directory), total=total)
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    def listing(request: Request) -> Response:
        mails = [m.as_json() for m in store.latest(_limit(request))]
        return JSONResponse({"messages": mails}, headers=SECURITY_HEADERS)

    def raw(request: Request) -> Response:
        name = str(request.path_params["name"])
        content = store.raw(name.removesuffix(".eml")) if name.endswith(".eml") else None
        if content is None:
            return Response("no such mail\n", status_code=404, media_type="text/plain")
        # Shown in the browser rather than downloaded; nosniff keeps it text.
        return Response(
            content,
            media_type="text/plain; charset=utf-8",
            headers=SECURITY_HEADERS | {"content-disposition": f'inline; filename="{name}"'},
        )

    def ready(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/", page),
            Route("/api/messages", listing),
            Route("/messages/{name}", raw),
            Route("/readyz", ready),
        ]
    )
