"""Use cases of the consent service. They take a session, stage events, and never commit."""
