"""The customer's app as a service: its release, its account, its unit, its data directories."""
