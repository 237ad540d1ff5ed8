"""Competitor case studies per product type: who sells what, what they do well and badly."""
