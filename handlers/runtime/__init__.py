"""Infrastructure under the Application: durable intake, SQL persistence, per-chat processing,
the start-up check of Telegram and the health states (startup.py). May import: handlers.base."""
