"""Tests of findings, escalations and user stories."""
