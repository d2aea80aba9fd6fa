"""Telegram adapters, in layers, each importing only those before it (and helpcenter):
base → answers → flows → support → runtime → app.py → offline (tests/test_layering.py holds it)."""
