"""``/login`` and ``/logout``: the web page's token, kept in an HttpOnly, SameSite cookie.

When tokens are required, a browser that asks for a page without one is sent here (the
authentication middleware redirects HTML requests). The token is checked before the
cookie is set, and the cookie is HttpOnly (no script reads it), SameSite=Strict (no other
site's request carries it), and Secure when the page came over HTTPS. The form itself is
accepted only from this site, so no other site can sign a browser in with its own token.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.authentication import TOKEN_COOKIE
from app.auth.tokens import TokenStore
from app.web.rendering import render

COOKIE_MAX_AGE_S = 30 * 24 * 3600
MAX_FORM_BYTES = 4096


def login_router(tokens: TokenStore, mode: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def form(next_path: str, message: str = "", status_code: int = 200) -> HTMLResponse:
        return render(
            "login.html",
            status_code,
            section="login",
            mode=mode,
            title="Sign in",
            next=_local(next_path),
            message=message,
        )

    @router.get("/login", response_class=HTMLResponse)
    def login_page(next: str = "/") -> HTMLResponse:
        return form(next)

    @router.post("/login")
    async def login(request: Request) -> Response:
        if not _from_this_site(request):
            return form("/", "Sign in from this site's own page.", 403)
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return form("/", "That is not a token.", 400)
        fields = parse_qs(body.decode("utf-8", "replace"))
        token = fields.get("token", [""])[0].strip()
        next_path = fields.get("next", ["/"])[0]
        if tokens.authenticate(token) is None:
            return form(next_path, "That token is unknown or revoked.", 401)
        response = RedirectResponse(_local(next_path), status_code=303)
        response.set_cookie(
            TOKEN_COOKIE,
            token,
            max_age=COOKIE_MAX_AGE_S,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @router.post("/logout")
    def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(TOKEN_COOKIE, path="/")
        return response

    return router


def _local(path: str) -> str:
    """Only a path on this site: never an open redirect to another."""
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//"):
        return "/"
    return path


def _from_this_site(request: Request) -> bool:
    source = request.headers.get("origin") or request.headers.get("referer")
    return bool(source) and urlsplit(source).netloc == request.headers.get("host")
