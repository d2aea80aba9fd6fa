"""What every handler shares: settings and services, the typed context and user data, callback data,
wording, keyboards and sending, the flow states and their registries. May import: helpcenter only."""
