"""Operators: the hospital registry and API keys."""
