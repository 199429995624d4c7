"""Secrets bedsvc must read back (the Aplicares HMAC secret), encrypted at rest with Fernet.

A signature check needs the secret itself, so it cannot be stored as a hash like API keys.
The key comes from ``BEDSVC_SECRET_KEY`` (one or more Fernet keys, comma-separated: the first
encrypts, all decrypt, so a key can be rotated). Unset, a key file is generated once under the
data folder with mode 0600, which suits one machine; several instances need the same key set.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bedsvc.settings import Settings

KEY_FILE_NAME = "secret.key"


class SecretKeyError(RuntimeError):
    """The configured key is malformed, or not the key a stored secret was encrypted with."""


class SecretBox:
    """Encrypts and decrypts with the configured keys, read when first needed, so that a
    service with no Aplicares bridge in use never needs a writable data folder."""

    def __init__(self, keys: Callable[[], list[bytes]]) -> None:
        self._keys = keys
        self._fernet: MultiFernet | None = None
        self._raw: list[bytes] = []

    def _box(self) -> MultiFernet:
        if self._fernet is None:
            keys = self._keys()
            if not keys:
                raise SecretKeyError("BEDSVC_SECRET_KEY holds no key")
            try:
                self._fernet = MultiFernet([Fernet(key) for key in keys])
                self._raw = [base64.urlsafe_b64decode(key) for key in keys]
            except ValueError as exc:
                raise SecretKeyError(
                    "BEDSVC_SECRET_KEY must be Fernet keys (32 url-safe base64-encoded bytes), "
                    "comma-separated; make one with: python -c 'from cryptography.fernet "
                    "import Fernet; print(Fernet.generate_key().decode())'"
                ) from exc
        return self._fernet

    def check(self) -> None:
        """Raises SecretKeyError now if the keys are missing or malformed."""
        self._box()

    def mac_keys(self, purpose: str) -> list[bytes]:
        """HMAC keys for one purpose, one per configured key, the current one first.

        Derived (HMAC-SHA256 of the purpose under each key) so that a keyed hash never uses
        the encryption key itself, and so that rotating BEDSVC_SECRET_KEY the usual way (new
        key first, old ones kept) keeps stored hashes checkable."""
        self._box()
        label = f"bedsvc:{purpose}".encode()
        return [hmac.new(raw, label, hashlib.sha256).digest() for raw in self._raw]

    def encrypt(self, plain: str) -> bytes:
        return self._box().encrypt(plain.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._box().decrypt(token).decode()
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret does not decrypt with BEDSVC_SECRET_KEY (or the key file): "
                "was the key changed without keeping the old one in the list?"
            ) from None


def _create_key_file(path: Path) -> None:
    """Writes a new key atomically; when two workers race, the first link wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # mode 0600
    try:
        os.write(handle, Fernet.generate_key() + b"\n")
        os.fsync(handle)
        os.close(handle)
        with contextlib.suppress(FileExistsError):
            os.link(temp_name, path)
    finally:
        os.unlink(temp_name)


def key_file(settings: Settings) -> Path:
    return settings.server.data_dir / KEY_FILE_NAME


def _key_file_keys(path: Path) -> list[bytes]:
    try:
        if not path.exists():
            _create_key_file(path)
        return [path.read_bytes().strip()]
    except OSError as exc:
        raise SecretKeyError(
            f"cannot read or create the key file {path} ({exc.strerror}); "
            "set BEDSVC_SECRET_KEY instead"
        ) from exc


def load_secret_box(settings: Settings) -> SecretBox:
    """A configured key is checked now, so a malformed one stops the start-up."""
    if settings.server.secret_key is not None:
        text = settings.server.secret_key.get_secret_value()
        keys = [k.strip().encode() for k in text.split(",") if k.strip()]
        box = SecretBox(lambda: keys)
        box.check()
        return box
    path = key_file(settings)
    return SecretBox(lambda: _key_file_keys(path))
