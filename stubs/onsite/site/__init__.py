"""The site file v1: load, validate, freeze; which node this host is."""
