"""Answering from the knowledge base: typed questions, answers opened by id, the market/role profile,
FAQ browsing, inline mode and 👍/👎. May import: handlers.base."""
