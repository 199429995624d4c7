"""Reminders to a stale hospital's own staff, by mail and Telegram, once per lapse."""
