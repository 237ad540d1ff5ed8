"""Suggestions from the product team (issue 14, 1b): ideas for future specifications, triaged
and grouped with customers' texts, marked as internal."""
