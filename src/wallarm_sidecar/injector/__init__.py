"""The admission controller's core: inject the sidecar into labelled pods (DESIGN §4).

`mutate(pod, namespace, settings)` is pure; the webhook server (`controller`), the
`inject` command and `localrun` all call it.
"""

from wallarm_sidecar.injector._annotations import (
    ANNOTATIONS,
    PREFIX,
    STATUS_ANNOTATION,
    STATUS_INJECTED,
    AnnotationSpec,
    PodOptions,
)
from wallarm_sidecar.injector._controller import (
    CONTROLLER_OPTIONS,
    TOKEN_ENV,
    ControllerSettings,
    load_injection_settings,
    prepare_controller,
    run_controller,
)
from wallarm_sidecar.injector._credential import (
    CredentialClaims,
    CredentialError,
    credential_key_id,
    derive_credential_key,
    mint_scoped_credential,
    verify_scoped_credential,
)
from wallarm_sidecar.injector._manifests import (
    TEMPLATE_PATHS,
    InjectionRejected,
    inject_documents,
    inject_yaml,
)
from wallarm_sidecar.injector._mutate import (
    ENABLE_LABEL,
    HELPER,
    INIT_HELPER,
    INIT_IPTABLES,
    PROXY,
    VOLUMES,
    Decision,
    Mutation,
    Reason,
    mutate,
)
from wallarm_sidecar.injector._patch import PatchOperation, escape_token, json_patch
from wallarm_sidecar.injector._review import (
    AdmissionResponse,
    AdmissionReview,
    MalformedReview,
    ReviewOutcome,
    handle_review,
)
from wallarm_sidecar.injector._server import (
    AdmissionApp,
    ControllerMetrics,
    ReloadingCertificate,
    serve,
)
from wallarm_sidecar.injector._settings import (
    InjectionSettings,
    settings_json_schema,
    unknown_keys,
)

__all__ = [
    "ANNOTATIONS",
    "CONTROLLER_OPTIONS",
    "ENABLE_LABEL",
    "HELPER",
    "INIT_HELPER",
    "INIT_IPTABLES",
    "PREFIX",
    "PROXY",
    "STATUS_ANNOTATION",
    "STATUS_INJECTED",
    "TEMPLATE_PATHS",
    "TOKEN_ENV",
    "VOLUMES",
    "AdmissionApp",
    "AdmissionResponse",
    "AdmissionReview",
    "AnnotationSpec",
    "ControllerMetrics",
    "ControllerSettings",
    "CredentialClaims",
    "CredentialError",
    "Decision",
    "InjectionRejected",
    "InjectionSettings",
    "MalformedReview",
    "Mutation",
    "PatchOperation",
    "PodOptions",
    "Reason",
    "ReloadingCertificate",
    "ReviewOutcome",
    "credential_key_id",
    "derive_credential_key",
    "escape_token",
    "handle_review",
    "inject_documents",
    "inject_yaml",
    "json_patch",
    "load_injection_settings",
    "mint_scoped_credential",
    "mutate",
    "prepare_controller",
    "run_controller",
    "serve",
    "settings_json_schema",
    "unknown_keys",
    "verify_scoped_credential",
]
