"""Issue 12: one file per finding, each proving it closed."""
