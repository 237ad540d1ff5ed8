"""The catalog follows launches: a launched product becomes active (issue 10, loop 4)."""
