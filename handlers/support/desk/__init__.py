"""The agents' desk in the agents' group (support's sub-package): history and notes, take it and the
SLA clock, transcripts, /kb and /teach, service figures. May import: handlers.base, handlers.support."""
