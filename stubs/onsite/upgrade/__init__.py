"""Update bundles and rolling upgrades onsite (docs/upgrade.md)."""
