"""Notify-when-free: citizens' Web Push subscriptions and the pushes sent when a bed frees."""
