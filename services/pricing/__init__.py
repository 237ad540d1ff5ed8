"""The pricing service: price lists, guarded proposals, four-eyes approval, publishing."""
