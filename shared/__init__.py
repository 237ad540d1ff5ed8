"""The ProductOps kernel: what every service needs, and no domain logic of any of them."""
