"""The consent page's HTML: server-rendered, no scripts, no external fonts or images.

Every value from outside (client name, email, scopes, messages) goes through ``html.escape``.
The one stylesheet is inline and allowed by its hash in the Content-Security-Policy, so the
policy can say ``default-src 'none'``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html import escape
from urllib.parse import urlsplit

CSS = """
:root{color-scheme:light dark;
  --fg:#1d2421;
  --muted:#5b6661;
  --bg:#f4f1ea;
  --card:#fff;
  --line:#d9d4c7;
  --accent:#1f6f4a;
  --warn:#9b2c1f}
@media (prefers-color-scheme:dark){:root{--fg:#ece8df;
  --muted:#a9b2ad;
  --bg:#161a18;
  --card:#202623;
  --line:#38403c;
  --accent:#5cc192;
  --warn:#f08c7d}}
*{box-sizing:border-box}
body{margin:0;
  background:var(--bg);
  color:var(--fg);
  font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:30rem;margin:0 auto;padding:1.5rem 1rem 3rem}
.brand{font-weight:700;letter-spacing:.02em;color:var(--accent);margin:0 0 1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.25rem}
h1{font-size:1.35rem;line-height:1.3;margin:0 0 .75rem}
p{margin:.5rem 0}
.muted{color:var(--muted);font-size:.925rem}
ul{padding-left:1.2rem;margin:.5rem 0 1rem}
li{margin:.25rem 0}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=email],input[type=password]{width:100%;
  font:inherit;
  padding:.7rem .75rem;
  border:1px solid var(--line);
  border-radius:8px;
  background:var(--bg);
  color:var(--fg)}
button{font:inherit;
  font-weight:600;
  border-radius:8px;
  padding:.75rem 1rem;
  border:1px solid var(--accent);
  cursor:pointer;
  width:100%;
  margin-top:1rem}
.primary{background:var(--accent);color:#fff}
.secondary{background:transparent;color:var(--fg);border-color:var(--line)}
.actions{display:flex;gap:.75rem;flex-wrap:wrap}
.actions form{flex:1 1 10rem}
.error{border-left:4px solid var(--warn);padding:.5rem .75rem;margin:0 0 1rem;background:transparent}
.who{word-break:break-all;margin:.5rem 0}
button.link{width:auto;margin:0;padding:0;border:0;background:none;color:var(--accent);text-decoration:underline;
  font-weight:400}
a{color:var(--accent)}
""".strip()
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()

# What a client can do once approved: the tools, in a person's words.
CAPABILITIES = [
    "See and log your trips, expenses and what PAM saved you, and compare spending with your budgets",
    "Read and add to what PAM remembers of your conversations",
    "Check messages against your safety settings, and change your safety level when you ask",
]
SCOPE_TEXT = {
    "openid": "Confirm who you are",
    "email": "See your email address",
    "profile": "See your name and profile details",
    "phone": "See your phone number",
}


def csp(form_targets: list[str] | None = None) -> str:
    """``form_targets``: origins a form here may end up at (the client's redirect after a decision)."""
    targets = " ".join(["'self'", *(form_targets or [])])
    return (
        f"default-src 'none'; style-src '{STYLE_HASH}'; img-src 'self'; form-action {targets}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


# A redirect URI's scheme, as a CSP scheme-source; never one that runs or embeds content.
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{0,31}$")
_NEVER_ALLOWED = frozenset({"javascript", "data", "blob", "filesystem", "vbscript", "about", "file"})


def form_target(url: str) -> str | None:
    """What ``form-action`` must allow for a form whose answer redirects to ``url``.

    An http(s) URL's origin; for a desktop client's custom scheme (``cursor://...``) the
    scheme (``cursor:``), since browsers apply form-action to the redirect after the POST
    as well and would block Approve and Deny for such clients.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return f"{scheme}://{parts.netloc}" if parts.netloc else None
    if _SCHEME.match(scheme) and scheme not in _NEVER_ALLOWED:
        return scheme + ":"
    return None


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="same-origin">'
        f"<title>{escape(title)} · PAM</title><style>{CSS}</style></head>"
        f'<body><main><p class="brand">PAM · Wheels &amp; Wins</p><div class="card">{body}</div></main></body></html>'
    )


def _error(message: str | None) -> str:
    return f'<p class="error" role="alert">{escape(message)}</p>' if message else ""


def _hidden(csrf: str, authorization_id: str) -> str:
    return (
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<input type="hidden" name="authorization_id" value="{escape(authorization_id)}">'
    )


def sign_in(action: str, csrf: str, authorization_id: str, *, email: str = "", error: str | None = None) -> str:
    return _page(
        "Sign in",
        "<h1>Sign in to connect an app to PAM</h1>"
        + _error(error)
        + '<p class="muted">Use the email and password of your Wheels &amp; Wins account.</p>'
        f'<form method="post" action="{escape(action)}">'
        + _hidden(csrf, authorization_id)
        + '<label for="email">Email</label>'
        f'<input id="email" name="email" type="email" autocomplete="username" required value="{escape(email)}">'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" required>'
        '<button class="primary" type="submit">Sign in</button></form>',
    )


def consent(
    base: str, csrf: str, authorization_id: str, *, client: str, client_uri: str, redirect_host: str,
    scopes: list[str], email: str, error: str | None = None,
) -> str:  # fmt: skip
    who = escape(client or "An app that did not give its name")
    site = f'<p class="muted">{escape(client_uri)}</p>' if client_uri else ""
    scope_items = "".join(f"<li>{escape(SCOPE_TEXT.get(s, s))}</li>" for s in scopes)
    can_do = "".join(f"<li>{escape(c)}</li>" for c in CAPABILITIES)
    decision = "".join(
        f'<form method="post" action="{escape(base)}/decision">{_hidden(csrf, authorization_id)}'
        f'<input type="hidden" name="decision" value="{value}">'
        f'<button class="{style}" type="submit">{label}</button></form>'
        for value, style, label in (("approve", "primary", "Approve"), ("deny", "secondary", "Deny"))
    )
    return _page(
        "Allow access",
        f"<h1>{who} wants to use PAM as you</h1>"
        + _error(error)
        + site
        + f'<form class="who" method="post" action="{escape(base)}/sign-out">{_hidden(csrf, authorization_id)}'
        f"Signed in as <strong>{escape(email or 'you')}</strong>. "
        '<button class="link" type="submit">Use another account</button></form>'
        + "<p>If you approve, it will be able to:</p>"
        + f"<ul>{can_do}</ul>"
        + (f"<p>It also asks to:</p><ul>{scope_items}</ul>" if scope_items else "")
        + f'<p class="muted">Afterwards you go back to {escape(redirect_host or "the app")}. Everything it does acts '
        "as you, and only on your own data.</p>" + f'<div class="actions">{decision}</div>',
    )


def message(title: str, text: str, *, link: tuple[str, str] | None = None) -> str:
    extra = f'<p><a href="{escape(link[0])}">{escape(link[1])}</a></p>' if link else ""
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{extra}")
