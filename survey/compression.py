"""gzip for text responses, so a page crosses a slow connection in a third of the bytes.

Pages, CSV and JSON exports and the API are compressed when the client accepts gzip and the
body is large enough to gain; files sent from disk or streamed (PDFs, images, large exports)
are left alone, and so is anything already encoded (the linked assets are stored gzipped).
nginx in front (docs/deployment.md) passes these responses through as they are.
"""
from __future__ import annotations

import gzip

from flask import request

COMPRESSIBLE = {"text/html", "text/css", "text/csv", "text/plain", "text/javascript", "application/json",
                "application/yaml", "image/svg+xml"}
MIN_SIZE = 500  # below this gzip's header and the lost Content-Length gain nothing
LEVEL = 6


def compress(response):
    """The response gzipped in place when that helps this client; otherwise unchanged."""
    if (response.direct_passthrough or response.is_streamed or request.method == "HEAD"
            or response.status_code < 200 or response.status_code in (204, 304)
            or "Content-Encoding" in response.headers or response.mimetype not in COMPRESSIBLE):
        return response
    response.vary.add("Accept-Encoding")
    if request.accept_encodings["gzip"] <= 0:
        return response
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    response.set_data(gzip.compress(body, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)
    return response


def init_app(app):
    """Compress last, after every other after_request hook has had the body."""
    app.after_request_funcs.setdefault(None, []).insert(0, compress)
