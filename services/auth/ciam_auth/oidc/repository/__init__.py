"""Every query of the OIDC provider: clients and customers' grants to them, refresh tokens
(with the one-statement rotation), signing keys, and the account reads of the token and
contacts endpoints."""
