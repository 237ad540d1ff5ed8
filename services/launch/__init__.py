"""Launch: plans, readiness gates from live facts, sign-offs, waivers, approval, calendar."""
