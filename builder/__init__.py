"""ha-bundle build side: manifests -> resolved, verified RPM set -> self-extracting installer."""

__version__ = "0.1.0"
