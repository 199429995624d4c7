"""Secrets bedsvc must read back (the Aplicares HMAC secret), encrypted at rest with Fernet.

A signature check needs the secret itself, so it cannot be stored as a hash like API keys.
The key comes from ``BEDSVC_SECRET_KEY`` (one or more Fernet keys, comma-separated: the first
encrypts, all decrypt, so a key can be rotated). Unset, a key file is generated once under the
data folder with mode 0600, which suits one machine; several instances need the same key set.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bedsvc.settings import Settings

KEY_FILE_NAME = "secret.key"


class SecretKeyError(RuntimeError):
    """The configured key is malformed, or not the key a stored secret was encrypted with."""


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretKeyError("no encryption key")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except ValueError as exc:
            raise SecretKeyError(
                "BEDSVC_SECRET_KEY must be Fernet keys (32 url-safe base64-encoded bytes), "
                "comma-separated; make one with: python -c 'from cryptography.fernet import "
                "Fernet; print(Fernet.generate_key().decode())'"
            ) from exc

    def encrypt(self, plain: str) -> bytes:
        return self._fernet.encrypt(plain.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret does not decrypt with BEDSVC_SECRET_KEY (or the key file): "
                "was the key changed without keeping the old one in the list?"
            ) from None


def _create_key_file(path: Path) -> None:
    """Writes a new key atomically; when two workers race, the first link wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
    try:
        os.fchmod(handle, 0o600)
        os.write(handle, Fernet.generate_key() + b"\n")
        os.fsync(handle)
        os.close(handle)
        with contextlib.suppress(FileExistsError):
            os.link(temp_name, path)
    finally:
        os.unlink(temp_name)


def key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE_NAME


def load_secret_box(settings: Settings) -> SecretBox:
    if settings.secret_key is not None:
        keys = [k.strip().encode() for k in settings.secret_key.get_secret_value().split(",")]
        return SecretBox([k for k in keys if k])
    path = key_file(settings)
    if not path.exists():
        _create_key_file(path)
    return SecretBox([path.read_bytes().strip()])
