"""`wallarm-sidecar demo`: the whole documented story on one machine, no cluster needed."""

from wallarm_sidecar.demo._run import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]
