"""Social sign-in: the auth service as a relying party of upstream OpenID providers (Google,
Apple, Facebook, any OIDC provider), identities linked to accounts, consent-gated import."""
