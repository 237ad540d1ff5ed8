"""The `productops` command: run the whole stack, serve one component, tail events."""
