"""HTML → PDF with WeasyPrint, fetching nothing but the portal's own assets.

The URL fetcher refuses ``file://``, ``http(s)://`` and every other scheme:
documents are built from escaped text and the portal's stylesheet and fonts
only, so no user text can pull a file or a network resource into a PDF.
Besides ``static/print/`` it serves ``fonts.css`` and the print fonts of
``portal.documents.fonts`` by their fixed names.
"""

from __future__ import annotations

import atexit
import logging
import mimetypes
import threading
from pathlib import Path

from flask import current_app, render_template

from portal.documents import fonts

ASSET_ROOT = "jiedian-asset:/"  # the base URL documents are rendered against
_ALLOWED_SUFFIXES = {".css", ".svg", ".png", ".woff", ".woff2", ".ttf", ".otf"}


class RefusedURL(ValueError):
    pass


def _static_dir() -> Path:
    return Path(current_app.root_path) / "static" / "print"


def _font_dir() -> Path:
    return Path(current_app.config["PRINT_FONT_DIR"])


def _portal_assets_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class PortalAssets(URLFetcher):
        """Serve ``jiedian-asset:/<file>`` from static/print; refuse every other URL.

        Nothing goes through urllib, so no scheme (file, http, https, ftp,
        data), no redirect and no proxy is ever followed.
        """

        def __init__(self):
            super().__init__(allowed_protocols=(), allow_redirects=False)

        def fetch(self, url, headers=None):
            name = url[len(ASSET_ROOT):].lstrip("/") if url.startswith(ASSET_ROOT) else None
            if name == "seal.png":
                from portal.documents.layout import seal_path

                seal = seal_path()
                if seal is None:
                    raise RefusedURL("no seal image is configured")
                return URLFetcherResponse(url, body=seal.read_bytes(), headers={"Content-Type": "image/png"})
            if name == "fonts.css":
                css = fonts.stylesheet(_font_dir(), ASSET_ROOT)
                return URLFetcherResponse(url, body=css.encode(), headers={"Content-Type": "text/css"})
            face = next((f for f in fonts.FACES if name == f"fonts/{f.file}"), None)
            if face is not None:
                path = _font_dir() / face.file
                if not path.is_file():
                    raise RefusedURL(f"print font {face.file} is not built")
                return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": "font/otf"})
            root = _static_dir().resolve()
            path = (root / name).resolve() if name else None
            if path is None or root not in path.parents or path.suffix.lower() not in _ALLOWED_SUFFIXES or not path.is_file():
                raise RefusedURL(f"refused to fetch {url[:80]!r}")
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})

    return PortalAssets


def safe_fetcher():
    """A fresh fetcher for one rendering."""
    return _portal_assets_class()()


_parsed: dict = {}
_rendering = threading.Lock()


def _stylesheets():
    """``fonts.css`` and ``document.css``, parsed with their font configuration once per process.

    Parsing them registers the print faces with WeasyPrint; doing it again for
    every document took a quarter of a notice's time. A change of the font
    directory, a face or the stylesheet parses them again. The PDF bytes are
    the same either way. Call with ``_rendering`` held: WeasyPrint's objects
    are not shared between threads.
    """
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    css = _static_dir() / "document.css"
    faces = [_font_dir() / face.file for face in fonts.available(_font_dir())]
    key = (str(css), css.stat().st_mtime_ns, *((str(f), f.stat().st_mtime_ns) for f in faces))
    if _parsed.get("key") != key:
        release()
        font_config = FontConfiguration()
        fetcher = safe_fetcher()
        sheets = [CSS(url=ASSET_ROOT + name, url_fetcher=fetcher, font_config=font_config)
                  for name in ("fonts.css", "document.css")]
        _parsed.update(key=key, font_config=font_config, sheets=sheets)
    return _parsed["font_config"], _parsed["sheets"]


def release() -> None:
    """Drop the parsed stylesheets, and with them WeasyPrint's temporary copies of the faces (12 MB).

    The font configuration is held in reference cycles by the documents
    rendered with it, so only a collection frees it (and removes the copies).
    Runs at exit, and after each RQ job: a work horse leaves by ``os._exit``,
    which runs no exit handler and no collection, and left the copies behind.
    """
    import gc

    _parsed.clear()
    gc.collect()


atexit.register(release)


def html_to_pdf(html: str) -> bytes:
    """A document's HTML (its stylesheets are applied here, not linked) to PDF bytes.

    One rendering at a time per process: PDFs are few, and the parsed
    stylesheets are shared.
    """
    from weasyprint import HTML

    # WeasyPrint logs each refused URL as a warning; that is the point.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    with _rendering:
        font_config, sheets = _stylesheets()
        return HTML(string=html, base_url=ASSET_ROOT, url_fetcher=safe_fetcher()).write_pdf(
            stylesheets=sheets, font_config=font_config)


def render_pdf(template: str, **context) -> bytes:
    """Render a document template (autoescaped Jinja) to PDF bytes."""
    return html_to_pdf(render_template(template, asset_root=ASSET_ROOT, **context))
