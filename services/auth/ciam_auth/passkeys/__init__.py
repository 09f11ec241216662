"""Passkeys (WebAuthn) and the passwordless sign-in by email code (docs/services/auth.md)."""
