"""Tests of cases and decisions."""
