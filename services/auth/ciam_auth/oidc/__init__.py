"""The OpenID Connect provider: signing keys, clients (brand apps), codes, tokens, endpoints."""
