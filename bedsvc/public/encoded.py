"""A public document as it goes on the wire: body, gzip form and headers, built once."""

from __future__ import annotations

from typing import NamedTuple

from isal import igzip

Headers = list[tuple[bytes, bytes]]

# Below this, gzip saves less than its own header and trailer cost.
_MIN_GZIP_BYTES = 256
_JSON = (b"content-type", b"application/json")


class Encoding:
    """How every public document is served: gzip level and cache headers (from settings).

    gzip is ISA-L's (python-isal): a changed document is compressed again on its next
    request, up to a hundred times a second, and ISA-L's level 1 takes a fifth of the time of
    zlib's level 1 and a fifteenth of zlib's level 6 for the full document
    (docs/performance.md), for output a third larger than level 6's.
    """

    def __init__(self, gzip_level: int, max_age: int, stale_while_revalidate: int) -> None:
        self.gzip_level = gzip_level
        cache_control = b"public, max-age=%d, stale-while-revalidate=%d" % (
            max_age,
            stale_while_revalidate,
        )
        self.common: Headers = [(b"cache-control", cache_control), (b"vary", b"Accept-Encoding")]


class View(NamedTuple):
    """One hospital as live subscribers of a filter see it: its encoded public view and
    version."""

    body: bytes
    version: int


class Encoded:
    """One document: its ETag, body and headers; the gzip form is made on first demand."""

    __slots__ = ("_encoding", "_gzip", "body", "etag", "headers")

    def __init__(self, etag: bytes, body: bytes, encoding: Encoding) -> None:
        self.etag = etag
        self.body = body
        self._encoding = encoding
        length = (b"content-length", b"%d" % len(body))
        self.headers: Headers = [_JSON, length, (b"etag", etag), *encoding.common]
        self._gzip: tuple[Headers, bytes] | None = None

    def gzipped(self) -> tuple[Headers, bytes] | None:
        """Headers and body of the gzip form, or None when the body is too small to gain."""
        if self._gzip is None:
            if len(self.body) < _MIN_GZIP_BYTES:
                return None
            compressed = igzip.compress(self.body, self._encoding.gzip_level, mtime=0)
            headers = [
                _JSON,
                (b"content-encoding", b"gzip"),
                (b"content-length", b"%d" % len(compressed)),
                (b"etag", self.etag),
                *self._encoding.common,
            ]
            self._gzip = headers, compressed
        return self._gzip


def not_modified_headers(etag: bytes, encoding: Encoding) -> Headers:
    return [(b"etag", etag), *encoding.common]
