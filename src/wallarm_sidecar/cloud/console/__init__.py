"""The Console: the Cloud's web UI at `/` (DESIGN §8), served by the API's own app.

Attacks (filters, a chart over time, details with the hits), nodes by group, API tokens,
IP lists and filtering-mode settings, as server-rendered HTML with no script. See the
Console section of docs/cloud.md.
"""

from wallarm_sidecar.cloud.console._routes import mount_console

__all__ = ["mount_console"]
