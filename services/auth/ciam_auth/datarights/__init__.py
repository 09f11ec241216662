"""Data rights of the privacy centre: download my data (GDPR art. 15 and 20, CCPA right to
know) and delete my account (art. 17, CCPA right to delete) as tracked requests answered by
every service over Kafka (docs/services/privacy.md)."""
