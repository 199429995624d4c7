"""Reminders to Telegram chats through the Bot API's `sendMessage` (BEDSVC_TELEGRAM_BOT_TOKEN)."""

from __future__ import annotations

import httpx

from bedsvc.reminders.mail import SendError
from bedsvc.settings import RemindersSettings


def bot_url(reminders: RemindersSettings) -> str | None:
    """`<api>/bot<token>/sendMessage`, or None when Telegram is off. It holds the token: it is
    never logged, and errors name their kind only."""
    if reminders.telegram_bot_token is None:
        return None
    base = reminders.telegram_api_url.rstrip("/")
    return f"{base}/bot{reminders.telegram_bot_token.get_secret_value()}/sendMessage"


async def send_telegram(
    client: httpx.AsyncClient, url: str, chat_id: str, text: str
) -> SendError | None:
    body = {"chat_id": chat_id, "text": text, "disable_web_page_preview": True}
    try:
        response = await client.post(url, json=body)
    except httpx.HTTPError as exc:
        return SendError(type(exc).__name__, permanent=False)
    if response.is_success:
        return None
    # 400 (no such chat) and 403 (the bot was blocked or removed from it) repeat on every
    # attempt; a bad token (401, 404) is the operator's to fix, 429 and 5xx pass.
    status = response.status_code
    return SendError(f"Telegram HTTP {status}", permanent=status in (400, 403))
