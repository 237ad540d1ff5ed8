"""Tests of feedback ingestion."""
