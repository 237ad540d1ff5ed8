"""`python -m services.pricing`: the pricing API, its scheduler, outbox relay and consumers."""

from shared.stack.serve import serve

serve("pricing")
