"""keepalived and the firewall: pure renderers and their configure steps."""
