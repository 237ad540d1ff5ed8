"""`python -m services.feedback`: the feedback API, its relay, consumer and triage worker."""

from shared.stack.serve import serve

serve("feedback")
