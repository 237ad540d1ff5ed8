"""ProductOps services: catalog, feedback, launch and pricing, each its own package."""
