"""The chart's webhook certificate jobs: `certgen create` and `certgen patch` (DESIGN §3).

`create` puts a CA and a serving certificate for the webhook Service into a Secret (once:
a usable Secret is left alone); `patch` copies the CA into the `caBundle` of every webhook
of the MutatingWebhookConfiguration. Certificates and request bodies are pure functions;
`KubeClient` is a thin HTTPS shell over the in-cluster service account.
"""

from wallarm_sidecar.certgen._certificates import (
    CA_VALIDITY,
    CERT_VALIDITY,
    RENEW_BEFORE,
    CertificateBundle,
    bundle_problem,
    generate_bundle,
    parse_hosts,
)
from wallarm_sidecar.certgen._command import (
    CREATE_OPTIONS,
    PATCH_OPTIONS,
    CertgenAction,
    CertgenSettings,
    connection_for,
    namespace_for,
    run_certgen,
)
from wallarm_sidecar.certgen._errors import CertgenError, KubeApiError, KubeError, KubeUnreachable
from wallarm_sidecar.certgen._jobs import (
    CreateOutcome,
    PatchOutcome,
    create_certificate,
    patch_webhook,
    secrets_path,
    webhook_path,
)
from wallarm_sidecar.certgen._kube import (
    SERVICE_ACCOUNT_DIR,
    KubeClient,
    KubeConnection,
    in_cluster_server,
)
from wallarm_sidecar.certgen._manifests import (
    SECRET_KEYS,
    TLS_SECRET_TYPE,
    FailurePolicy,
    PatchOperation,
    bundle_from_secret,
    ca_from_secret,
    replacement_secret,
    secret_manifest,
    webhook_patch,
)

__all__ = [
    "CA_VALIDITY",
    "CERT_VALIDITY",
    "CREATE_OPTIONS",
    "PATCH_OPTIONS",
    "RENEW_BEFORE",
    "SECRET_KEYS",
    "SERVICE_ACCOUNT_DIR",
    "TLS_SECRET_TYPE",
    "CertgenAction",
    "CertgenError",
    "CertgenSettings",
    "CertificateBundle",
    "CreateOutcome",
    "FailurePolicy",
    "KubeApiError",
    "KubeClient",
    "KubeConnection",
    "KubeError",
    "KubeUnreachable",
    "PatchOperation",
    "PatchOutcome",
    "bundle_from_secret",
    "bundle_problem",
    "ca_from_secret",
    "connection_for",
    "create_certificate",
    "generate_bundle",
    "in_cluster_server",
    "namespace_for",
    "parse_hosts",
    "patch_webhook",
    "replacement_secret",
    "run_certgen",
    "secret_manifest",
    "secrets_path",
    "webhook_patch",
    "webhook_path",
]
