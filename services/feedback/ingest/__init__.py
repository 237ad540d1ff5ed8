"""Ingestion: storefront customer events validated, stored and published; search misses."""
