"""The agents' desk without Telegram: support hours and the SLA clock, phrasings agents taught the bot.
May import: knowledge, understanding, answers, core, storage."""
