"""Tests of the feedback triage model."""
