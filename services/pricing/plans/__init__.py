"""Financial plans: monthly targets per product or account, actuals from purchases and
returns, variance and a run-rate forecast (issue 14, part 4)."""
