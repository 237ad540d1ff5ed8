"""`python -m services.launch`: the launch API, its scheduler, outbox relay and consumers."""

from shared.stack.serve import serve

serve("launch")
