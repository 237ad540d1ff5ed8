"""Catalog service: products, product types, completeness and lifecycle."""
