"""The service's VAPID key (RFC 8292): made by the first worker that needs it, kept in
PostgreSQL with its private half encrypted (bedsvc/secret_box.py), so that every worker of
every instance signs with the same key and subscriptions outlive restarts."""

from __future__ import annotations

import asyncio
import base64

import asyncpg
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid

from bedsvc.secret_box import SecretBox
from bedsvc.store import Queries
from bedsvc.store.notifications import StoredVapidKey, add_vapid_key, load_vapid_key


def _public_key(vapid: Vapid) -> str:
    point = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


class VapidKey:
    """One worker's copy of the key: the public half read (or made) once, the private half
    decrypted when the first push is signed."""

    def __init__(self, pool: asyncpg.Pool, queries: Queries, box: SecretBox) -> None:
        self._pool = pool
        self._queries = queries
        self._box = box
        self._lock = asyncio.Lock()
        self._stored: StoredVapidKey | None = None
        self._signer: Vapid | None = None

    async def public_key(self) -> str:
        """The public key, base64url, as PushManager.subscribe takes it."""
        return (await self._load()).public_key

    async def signer(self) -> Vapid:
        if self._signer is None:
            stored = await self._load()
            pem = self._box.decrypt(stored.private_key_encrypted)
            self._signer = Vapid.from_pem(pem.encode())
        return self._signer

    async def _load(self) -> StoredVapidKey:
        if self._stored is None:
            async with self._lock:
                if self._stored is None:
                    self._stored = await self._load_or_make()
        return self._stored

    async def _load_or_make(self) -> StoredVapidKey:
        async with self._pool.acquire() as conn:
            stored = await load_vapid_key(conn, self._queries)
            if stored is not None:
                return stored
            fresh = Vapid()
            fresh.generate_keys()
            pem: bytes = fresh.private_pem()
            candidate = StoredVapidKey(_public_key(fresh), self._box.encrypt(pem.decode()))
            return await add_vapid_key(conn, self._queries, candidate)
