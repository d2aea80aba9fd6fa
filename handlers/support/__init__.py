"""Human support: the customer's side of a ticket, ticket buttons, the agents' side, the desk, the outbox.
May import: handlers.base (flows show themselves on a ticket card through base.flow's registry)."""
