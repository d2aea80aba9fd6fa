"""Infrastructure under the Application: durable intake, SQL persistence, per-chat processing.
May import: handlers.base."""
