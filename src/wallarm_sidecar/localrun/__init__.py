"""`localrun`: an injected pod run on this machine, each container as a process (DESIGN §10).

`plan_pod` (pure) turns a pod spec into processes; `LocalPod` runs them, in the pod's
own network namespace as root or on the host's loopback otherwise.
"""

from wallarm_sidecar.localrun._command import add_localrun_arguments, run_localrun
from wallarm_sidecar.localrun._images import APP_IMAGES, AppImage, image_repository
from wallarm_sidecar.localrun._network import NetworkError, PodNetwork, pick_subnet
from wallarm_sidecar.localrun._plan import (
    LoadedPod,
    PlanError,
    PlanOptions,
    PodPlan,
    PortPlan,
    Probe,
    ProcessPlan,
    VolumePlan,
    choose_network,
    load_pod,
    plan_pod,
)
from wallarm_sidecar.localrun._runner import LocalPod, PodFailed

__all__ = [
    "APP_IMAGES",
    "AppImage",
    "LoadedPod",
    "LocalPod",
    "NetworkError",
    "PlanError",
    "PlanOptions",
    "PodFailed",
    "PodNetwork",
    "PodPlan",
    "PortPlan",
    "Probe",
    "ProcessPlan",
    "VolumePlan",
    "add_localrun_arguments",
    "choose_network",
    "image_repository",
    "load_pod",
    "pick_subnet",
    "plan_pod",
    "run_localrun",
]
