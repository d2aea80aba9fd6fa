"""The conversations of the private chat: menu, return, refund, seller, admin commands, go: links.
May import: handlers.base and handlers.answers; a flow never imports another flow (registries in base.flow)."""
