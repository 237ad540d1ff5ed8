"""Answering customers: answers to escalations and question findings, kept per product as its
known questions and answers (issue 14, 1d)."""
