"""Product variants: own SKU, axis values, attribute overrides, lifecycle."""
