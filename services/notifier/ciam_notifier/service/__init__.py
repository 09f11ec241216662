"""Use cases of the notifier. They take a session, stage events, and never commit."""
