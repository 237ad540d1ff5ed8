"""Tests of the `productops` command: tail, the supervisor, discovery."""
