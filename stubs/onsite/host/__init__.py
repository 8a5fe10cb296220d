"""Facts about this host, each implemented once: programs, addresses, ARP, who holds the VIP,
keepalived's VRRP state, the app probe, services, rpm, OS target, listening ports."""
