"""The encryption of bridge secrets at rest: key file, configured keys, rotation."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bedsvc.secret_box import SecretKeyError, key_file, load_secret_box
from bedsvc.settings import Settings


def settings_with(tmp_path: Path, secret_key: str | None = None) -> Settings:
    key = None if secret_key is None else SecretStr(secret_key)
    return Settings(data_dir=tmp_path / "data", secret_key=key)


def test_key_file_is_made_once_private_and_reused(tmp_path: Path) -> None:
    settings = settings_with(tmp_path)
    box = load_secret_box(settings)
    assert not key_file(settings).exists()  # nothing written until a secret is

    token = box.encrypt("rahasia")

    assert key_file(settings).stat().st_mode & 0o777 == 0o600
    assert b"rahasia" not in token
    assert load_secret_box(settings).decrypt(token) == "rahasia"


def test_configured_keys_rotate(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = load_secret_box(settings_with(tmp_path, old)).encrypt("rahasia")

    rotated = load_secret_box(settings_with(tmp_path, f"{new}, {old}"))

    assert rotated.decrypt(token) == "rahasia"
    assert load_secret_box(settings_with(tmp_path, new)).decrypt(rotated.encrypt("x")) == "x"
    with pytest.raises(SecretKeyError, match="does not decrypt"):
        load_secret_box(settings_with(tmp_path, new)).decrypt(token)


def test_malformed_key_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match="Fernet"):
        load_secret_box(settings_with(tmp_path, "not-a-key"))
