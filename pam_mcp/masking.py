"""Connection strings fit to show a person: every secret in a URL replaced by ``***``.

The one helper for every place a URL is printed or logged (``doctor``'s report and its
error texts). A URL carries secrets in two places: the password of its user part
(``postgresql://me:s3cret@host/db``) and query parameters that libpq, asyncpg and redis
accept (``?password=...``, ``?sslpassword=...``), or that an HTTP API takes (``?apikey=...``,
``?token=...``). Over-masking is harmless; a leak is not, so any parameter whose name
contains one of ``_SECRET_WORDS`` is masked.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

MASK = "***"
UNPARSABLE = "(a connection string that cannot be parsed)"
_SECRET_WORDS = ("pass", "pwd", "token", "secret", "key", "auth", "credential", "signature")


def is_secret_parameter(name: str) -> bool:
    lowered = unquote(name).lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _mask_query(query: str) -> str:
    # Piece by piece, so the parameters that are not secret are shown exactly as given.
    pieces = []
    for piece in query.split("&"):
        name, sep, _value = piece.partition("=")
        pieces.append(f"{name}={MASK}" if sep and is_secret_parameter(name) else piece)
    return "&".join(pieces)


def mask_url(url: str) -> str:
    """``url`` with its password and every secret query parameter replaced by ``***``."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            host = netloc.rpartition("@")[2]
            netloc = f"{parts.username or ''}:{MASK}@{host}"
        # Rebuilt by hand: urlunsplit would turn postgresql:///db (a socket) into postgresql:/db.
        head = f"{parts.scheme}:" if parts.scheme else ""
        if url[len(head) :].startswith("//"):
            head += f"//{netloc}"
        return head + parts.path + (f"?{_mask_query(parts.query)}" if parts.query else "")
    except ValueError:
        return UNPARSABLE


def url_secrets(url: str) -> list[str]:
    """The secrets in ``url`` (its password, secret parameters' values), to scrub from other text.

    A URL that cannot be parsed is all secret.
    """
    try:
        parts = urlsplit(url)
        found = [parts.password or ""]
    except ValueError:
        return [url]
    for piece in parts.query.split("&"):
        name, sep, value = piece.partition("=")
        if sep and is_secret_parameter(name):
            found += [value, unquote(value)]
    return [s for s in found if s]
