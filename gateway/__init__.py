"""The ProductOps gateway: authentication, API keys, rate limits and routing to the services."""
