"""Cases for and against a product, and the decisions taken on them."""
