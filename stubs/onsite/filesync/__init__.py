"""The app's uploaded files kept identical on both nodes, following the VIP (agent.py)."""
