"""`GET /v1/live`: the domain events a caller may read, as Server-Sent Events."""
