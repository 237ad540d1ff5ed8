"""Brand research per product type: weighted criteria, benchmarks and the brand ranking."""
