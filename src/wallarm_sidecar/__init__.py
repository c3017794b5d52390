"""wallarm-sidecar: a Kubernetes sidecar web application firewall."""

__version__ = "0.1.0"
