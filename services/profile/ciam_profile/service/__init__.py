"""Use cases of the profile service: they take a session, never commit, and are the only
place that stages outgoing events."""

SOURCE = "/ciam/profile"
