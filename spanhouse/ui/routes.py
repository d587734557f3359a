"""Starlette routes of the web UI.

Every page URL (``/``, ``/search``, ``/trace/{trace_id}``, ...) answers the same HTML shell; the
ES module in ``static/app.js`` reads the path and query string and draws the view, so a URL
reproduces what it shows. Assets are served from the package under ``/static``.

Any other path outside ``/api`` and ``/static`` answers the same shell with status 404: the UI
draws its own "no such page" view (with the navigation), never the server's bare "Not Found".
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(str(files("spanhouse.ui") / "static"))
PAGES = ("/", "/search", "/trace/{trace_id}", "/trace/{trace_id}/vs/{other_id}", "/errors",
         "/map", "/doctor", "/compare", "/bottleneck")
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
NOT_UI = ("/api/", "/static/")   # their unknown paths stay plain 404s (clients, not people)


def routes() -> list:
    shell = (STATIC_DIR / "index.html").read_text(encoding="utf-8")

    async def page(request: Request) -> Response:
        # no-cache: the shell is tiny, and a stale one could reference assets of an older version
        return HTMLResponse(shell, headers={"Cache-Control": "no-cache"})

    async def unknown(request: Request) -> Response:
        path = request.url.path
        if request.method not in ("GET", "HEAD") or path == "/api" or path.startswith(NOT_UI):
            return PlainTextResponse("Not Found", status_code=404)
        return HTMLResponse(shell, status_code=404, headers={"Cache-Control": "no-cache"})

    return [*(Route(path, page, methods=["GET", "HEAD"]) for path in PAGES),
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
            Route("/{path:path}", unknown, methods=ANY_METHOD)]   # a POST to a wrong path is a 404 too
