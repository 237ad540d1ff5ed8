"""Findings (grouped feedback), their escalations and user stories."""
