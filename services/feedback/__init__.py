"""The feedback service: storefront customer events, triage into findings, escalations."""
