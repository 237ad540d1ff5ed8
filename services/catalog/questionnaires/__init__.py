"""Vendor questionnaires: typed templates, validated responses, promotion into attributes."""
