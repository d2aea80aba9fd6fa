"""Infrastructure under the Application: durable intake, SQL persistence, per-chat processing, errors.
May import: handlers.base."""
