"""Storage: one database interface on SQLite or PostgreSQL, a repository per record set, migrate
and the leader lock. May import: helpcenter.knowledge, understanding, answers, core."""
