"""The privacy page (`/privacy`): the customer sees every purpose of the consent service's
catalogue with their current choice, and grants or withdraws it (docs/services/privacy.md)."""
