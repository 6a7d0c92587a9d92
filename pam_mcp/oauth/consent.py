"""The consent page Supabase Auth sends a person to: sign in, then approve or deny a client.

Supabase Auth's OAuth server redirects the browser to ``<Site URL><authorization path>
?authorization_id=...``. Served here at ``PAM_CONSENT_PATH`` (default ``/oauth/consent``)
for projects without a web app of their own; ``PAM_CONSENT_PATH=off`` when the app hosts it.

- No session: a sign-in form (email and password, checked by Supabase Auth; the password is
  passed on once and never stored or logged).
- Signed in: which client asks, which scopes, what PAM will be able to do, Approve / Deny.
  The decision goes to Supabase Auth, whose answer is the redirect back to the client.

The session is the person's Supabase access token in an HttpOnly, Secure, SameSite=Lax
cookie (Lax: the page is reached by a redirect from Supabase, a top-level navigation from
another site). Forms carry a CSRF token that must equal a second cookie (SameSite=Strict,
double submit), and a POST whose Origin is not this server is refused. No JavaScript, a
strict CSP, and every failure explained in a person's words.

Sign-in attempts are rate limited here, per email and per client address, before Supabase
Auth is asked: every attempt reaches Supabase from pam-mcp's one address, so its per-address
limits would neither slow a password guesser down nor spare everyone else when one exhausts
them. The client address is the socket's peer; behind a proxy, uvicorn puts the address the
proxy forwards there when the proxy is trusted (``FORWARDED_ALLOW_IPS``).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import secrets
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from pam_mcp.errors import LimiterUnavailable, RateLimited
from pam_mcp.oauth import pages
from pam_mcp.oauth.front import Public
from pam_mcp.oauth.supabase_auth import AuthFailed, Failure, Redirect, SupabaseAuth
from pam_mcp.ratelimit import RateLimiter
from pam_mcp.rates import parse_rates
from pam_mcp.settings import Settings

log = logging.getLogger(__name__)

SESSION_COOKIE = "__Host-pam_session"
CSRF_COOKIE = "__Host-pam_csrf"
MAX_FORM_BYTES = 8 * 1024
MAX_SESSION_SECONDS = 3600
AUTHORIZATION_ID = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")

# Sign-in attempts, counted before Supabase Auth is asked. A person mistyping a password gets
# five tries a minute; a guesser gets 20 an hour per account. One address may try 30 a minute
# across accounts (a household or an office behind one address still fits).
SIGN_IN_BUCKET = "consent_sign_in"
SIGN_IN_PER_EMAIL = parse_rates("5/minute,20/hour")
SIGN_IN_PER_ADDRESS = parse_rates("30/minute,300/hour")

FAILURE_TEXT: dict[Failure, str] = {
    "credentials": "That email and password do not match an account. Check them and try again.",
    "unconfirmed": "Your email address is not confirmed yet. Open the link in the email you were sent, then sign in.",
    "request_gone": "This request has expired or was already answered. Go back to the app you were connecting "
    "and start again.",
    "session": "Your sign-in has expired. Sign in again.",
    "too_many": "Too many attempts. Wait a minute, then try again.",
    "unavailable": "The sign-in service could not be reached. Try again in a minute.",
}
NO_REQUEST_TEXT = (
    "This page is part of connecting an app to PAM, and opens from that app. Start from the app "
    "(for example Claude's Connect button)."
)
FORM_EXPIRED_TEXT = "This form has expired. Go back to the app you were connecting and start again."
LIMITER_DOWN_TEXT = "Signing in is not possible for a moment. Try again in a minute."


def too_many_sign_ins_text(retry_after: float) -> str:
    minutes = max(1, math.ceil(retry_after / 60))
    return f"Too many sign-in attempts; try again in {minutes} minute{'s' if minutes > 1 else ''}."


def consent_page(settings: Settings, public: Public, limiter: RateLimiter) -> ConsentPage | None:
    """The page, or None when it is off or Supabase Auth is not configured."""
    path = settings.pam_consent_path.strip()
    if path.lower() == "off" or not settings.supabase_url or not settings.supabase_anon_key:
        return None
    if not path.startswith("/"):
        path = "/" + path
    auth = SupabaseAuth(settings.supabase_url, settings.supabase_anon_key.get_secret_value())
    return ConsentPage(auth, public, path, limiter)


class ConsentPage:
    def __init__(self, auth: SupabaseAuth, public: Public, path: str, limiter: RateLimiter) -> None:
        self._auth = auth
        self._public = public
        self._path = path
        self._limiter = limiter

    def routes(self) -> list[Route]:
        return [
            Route(self._path, self.show, methods=["GET"]),
            Route(self._path + "/sign-in", self.sign_in, methods=["POST"]),
            Route(self._path + "/decision", self.decide, methods=["POST"]),
            Route(self._path + "/sign-out", self.sign_out, methods=["POST"]),
        ]

    async def aclose(self) -> None:
        """Close the HTTP client to Supabase Auth (at the app's shutdown)."""
        await self._auth.aclose()

    # -- the three routes ------------------------------------------------------------------------

    async def show(self, request: Request) -> Response:
        authorization_id = request.query_params.get("authorization_id", "")
        if not AUTHORIZATION_ID.match(authorization_id):
            return self._message(request, "Nothing to approve here", NO_REQUEST_TEXT, 400)
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return self._sign_in_form(request, authorization_id)
        return await self._consent_or_back(request, authorization_id, token)

    async def sign_in(self, request: Request) -> Response:
        form = await self._form(request)
        if form is None:
            return self._message(request, "Please start again", FORM_EXPIRED_TEXT, 403)
        authorization_id = form.get("authorization_id", "")
        if not AUTHORIZATION_ID.match(authorization_id):
            return self._message(request, "Nothing to approve here", NO_REQUEST_TEXT, 400)
        email = form.get("email", "").strip()[:320]
        password = form.pop("password", "")  # passed to Supabase Auth once; never kept, logged or echoed
        if not email or not password:
            return self._sign_in_form(request, authorization_id, email=email, error="Enter your email and password.")
        refusal = await self._count_sign_in(request, email)
        if refusal is not None:
            return refusal
        try:
            session = await self._auth.sign_in(email, password[:1024])
        except AuthFailed as exc:
            return self._sign_in_form(request, authorization_id, email=email, error=FAILURE_TEXT[exc.kind])
        # Read the request now, with the new session: a person who consented before is sent
        # straight back, by a link (a form's redirect may only go to this site, per the CSP).
        response = await self._consent_or_back(request, authorization_id, session.access_token, after_sign_in=True)
        if response.status_code != 200:
            # The request could not be read: nothing to keep the session for (and a failure
            # page must not both set and clear the cookie).
            return response
        response.set_cookie(
            SESSION_COOKIE,
            session.access_token,
            max_age=min(session.expires_in, MAX_SESSION_SECONDS),
            path="/",
            secure=True,
            httponly=True,
            samesite="lax",
        )
        return response

    async def sign_out(self, request: Request) -> Response:
        """ "Use another account": forget the session, back to the sign-in form for the same request."""
        form = await self._form(request)
        if form is None:
            return self._message(request, "Please start again", FORM_EXPIRED_TEXT, 403)
        authorization_id = form.get("authorization_id", "")
        if not AUTHORIZATION_ID.match(authorization_id):
            return self._message(request, "Nothing to approve here", NO_REQUEST_TEXT, 400)
        response = self._sign_in_form(request, authorization_id)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
        return response

    async def decide(self, request: Request) -> Response:
        form = await self._form(request)
        if form is None:
            return self._message(request, "Please start again", FORM_EXPIRED_TEXT, 403)
        authorization_id = form.get("authorization_id", "")
        decision = form.get("decision")
        if not AUTHORIZATION_ID.match(authorization_id) or decision not in ("approve", "deny"):
            return self._message(request, "Nothing to approve here", NO_REQUEST_TEXT, 400)
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return self._sign_in_form(request, authorization_id, error=FAILURE_TEXT["session"])
        try:
            back = await self._auth.decide(authorization_id, token, approve=decision == "approve")
        except AuthFailed as exc:
            return self._failure(request, authorization_id, exc.kind)
        return RedirectResponse(back.url, status_code=303, headers={"cache-control": "no-store"})

    # -- helpers --------------------------------------------------------------------------------

    async def _count_sign_in(self, request: Request, email: str) -> Response | None:
        """Spend one attempt of the address's and the email's budgets; a page when either is spent."""
        address = request.client.host if request.client else "unknown"
        try:
            await self._limiter.hit(_key("address", address), SIGN_IN_BUCKET, SIGN_IN_PER_ADDRESS)
            await self._limiter.hit(_key("email", email.lower()), SIGN_IN_BUCKET, SIGN_IN_PER_EMAIL)
        except RateLimited as exc:
            log.info("consent sign-in refused: %s", exc.limit)
            response = self._message(request, "Please wait", too_many_sign_ins_text(exc.retry_after), 429)
            response.headers["retry-after"] = str(max(1, math.ceil(exc.retry_after)))
            return response
        except LimiterUnavailable:
            return self._message(request, "Please wait", LIMITER_DOWN_TEXT, 503)
        return None

    async def _consent_or_back(
        self, request: Request, authorization_id: str, token: str, *, after_sign_in: bool = False
    ) -> Response:
        try:
            found = await self._auth.authorization(authorization_id, token)
        except AuthFailed as exc:
            if after_sign_in and exc.kind == "session":
                # A session issued a moment ago has not expired: the request is not this person's.
                return self._failure(request, authorization_id, "request_gone")
            return self._failure(request, authorization_id, exc.kind)
        if isinstance(found, Redirect):
            if after_sign_in:
                return self._message(
                    request, "You already allowed this app", "Continue to finish connecting.",
                    200, link=(found.url, "Continue"),
                )  # fmt: skip
            return RedirectResponse(found.url, status_code=303, headers={"cache-control": "no-store"})
        csrf = self._csrf(request)
        redirect_target = pages.form_target(found.redirect_uri)
        html = pages.consent(
            self._path,
            csrf,
            found.authorization_id,
            client=found.client_name,
            client_uri=found.client_uri,
            redirect_host=urlsplit(found.redirect_uri).netloc,
            scopes=found.scopes,
            email=found.email,
        )
        return self._html(html, 200, csrf, form_targets=[redirect_target] if redirect_target else [])

    def _failure(self, request: Request, authorization_id: str, kind: Failure) -> Response:
        if kind == "session":
            response = self._sign_in_form(request, authorization_id, error=FAILURE_TEXT["session"])
            response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
            return response
        status = {"request_gone": 410, "too_many": 429, "unavailable": 502}.get(kind, 400)
        return self._message(request, "This did not work", FAILURE_TEXT[kind], status)

    def _sign_in_form(
        self, request: Request, authorization_id: str, *, email: str = "", error: str | None = None
    ) -> Response:
        csrf = self._csrf(request)
        html = pages.sign_in(self._path + "/sign-in", csrf, authorization_id, email=email, error=error)
        return self._html(html, 400 if error else 200, csrf)

    def _message(
        self, request: Request, title: str, text: str, status: int, *, link: tuple[str, str] | None = None
    ) -> Response:
        target = pages.form_target(link[0]) if link else None
        return self._html(pages.message(title, text, link=link), status, None, form_targets=[target] if target else [])

    def _csrf(self, request: Request) -> str:
        return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)

    def _html(self, html: str, status: int, csrf: str | None, *, form_targets: list[str] | None = None) -> Response:
        response = HTMLResponse(
            html,
            status_code=status,
            headers={
                "content-security-policy": pages.csp(form_targets),
                "cache-control": "no-store",
                "x-content-type-options": "nosniff",
                "referrer-policy": "same-origin",  # no-referrer would make the form's Origin "null"
                "x-frame-options": "DENY",
            },
        )
        if csrf:
            response.set_cookie(CSRF_COOKIE, csrf, path="/", secure=True, httponly=True, samesite="strict")
        return response

    async def _form(self, request: Request) -> dict[str, str] | None:
        """The posted form, or None when it fails the CSRF checks (or is too large to be ours)."""
        origin = request.headers.get("origin")
        if origin and origin != self._public.origin:
            log.info("consent form posted from another origin")
            return None
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return None
        try:
            fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), max_num_fields=10).items()}
        except ValueError:
            return None
        expected = request.cookies.get(CSRF_COOKIE)
        if not expected or not secrets.compare_digest(expected.encode(), fields.get("csrf", "").encode()):
            return None
        return fields


def _key(kind: str, value: str) -> str:
    """A rate-limit identity for an email or an address: hashed, so Redis holds neither."""
    return f"{kind}-" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]
