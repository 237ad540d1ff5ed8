"""Customer requirements and the new-product recommendations ranked from them (issue 3)."""
