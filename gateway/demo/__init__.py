"""`productops demo`: a small, realistic store loaded through the gateway's public API, and a
storefront simulator pushing customer events at it (issue 11).

Only a client of the gateway: it speaks HTTP with an API key and imports no service.
"""
