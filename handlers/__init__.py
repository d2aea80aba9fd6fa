"""Telegram adapters: each module turns updates into calls on the core and renders replies."""
