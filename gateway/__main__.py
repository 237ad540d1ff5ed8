"""`python -m gateway`: serve the gateway on `PRODUCTOPS_GATEWAY_PORT`."""

from shared.stack.serve import serve

serve("gateway")
