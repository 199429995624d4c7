"""A public document as it goes on the wire: body, gzip form and headers, built once."""

from __future__ import annotations

import gzip

Headers = list[tuple[bytes, bytes]]

# Below this, gzip saves less than its own header and trailer cost.
_MIN_GZIP_BYTES = 256
# A document made for one request (`near=`, `limit=`) is compressed once and sent once: the
# fastest level costs a third of level 6 for a slightly larger body (loadtests/README.md).
_PER_REQUEST_LEVEL = 1
_JSON = (b"content-type", b"application/json")


class Encoding:
    """How every public document is served: gzip level and cache headers (from settings)."""

    def __init__(self, gzip_level: int, max_age: int, stale_while_revalidate: int) -> None:
        self.gzip_level = gzip_level
        cache_control = b"public, max-age=%d, stale-while-revalidate=%d" % (
            max_age,
            stale_while_revalidate,
        )
        self.common: Headers = [(b"cache-control", cache_control), (b"vary", b"Accept-Encoding")]


class Encoded:
    """One document: its ETag, body and headers; the gzip form is made on first demand."""

    __slots__ = ("_encoding", "_gzip", "_level", "_not_modified", "body", "etag", "headers")

    def __init__(
        self, etag: bytes, body: bytes, encoding: Encoding, *, per_request: bool = False
    ) -> None:
        self.etag = etag
        self.body = body
        self._encoding = encoding
        self._level = _PER_REQUEST_LEVEL if per_request else encoding.gzip_level
        length = (b"content-length", b"%d" % len(body))
        self.headers: Headers = [_JSON, length, (b"etag", etag), *encoding.common]
        self._gzip: tuple[Headers, bytes] | None = None
        self._not_modified: Headers | None = None

    def gzipped(self) -> tuple[Headers, bytes] | None:
        """Headers and body of the gzip form, or None when the body is too small to gain."""
        if self._gzip is None:
            if len(self.body) < _MIN_GZIP_BYTES:
                return None
            compressed = gzip.compress(self.body, self._level, mtime=0)
            headers = [
                _JSON,
                (b"content-encoding", b"gzip"),
                (b"content-length", b"%d" % len(compressed)),
                (b"etag", self.etag),
                *self._encoding.common,
            ]
            self._gzip = headers, compressed
        return self._gzip

    def not_modified(self) -> Headers:
        if self._not_modified is None:
            self._not_modified = not_modified_headers(self.etag, self._encoding)
        return self._not_modified


def not_modified_headers(etag: bytes, encoding: Encoding) -> Headers:
    return [(b"etag", etag), *encoding.common]
