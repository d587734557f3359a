"""Starlette routes of the web UI.

Every page URL (``/``, ``/search``, ``/trace/{trace_id}``, ...) answers the same HTML shell; the
ES module in ``static/app.js`` reads the path and query string and draws the view, so a URL
reproduces what it shows. Assets are served from the package under ``/static``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(str(files("spanhouse.ui") / "static"))
PAGES = ("/", "/search", "/trace/{trace_id}", "/errors", "/map", "/doctor", "/compare",
         "/bottleneck")


def routes() -> list:
    shell = (STATIC_DIR / "index.html").read_text(encoding="utf-8")

    async def page(request: Request) -> Response:
        # no-cache: the shell is tiny, and a stale one could reference assets of an older version
        return HTMLResponse(shell, headers={"Cache-Control": "no-cache"})

    return [*(Route(path, page, methods=["GET", "HEAD"]) for path in PAGES),
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static")]
