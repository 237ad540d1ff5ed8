"""Tests of product variants."""
