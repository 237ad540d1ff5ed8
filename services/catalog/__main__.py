"""`python -m services.catalog`: the catalog API, its outbox relay and consumers."""

from shared.stack.serve import serve

serve("catalog")
