"""The help center's core: content, matching and rendering, with no Telegram in it."""
