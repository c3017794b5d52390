"""`wallarm-sidecar cloud` configuration: flags or environment, validated once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from wallarm_sidecar._options import Option, parse_listen


def _listen(value: Any) -> Any:
    return parse_listen(value) if isinstance(value, str) else value


Port = Annotated[int, Field(ge=0, le=65535)]
Listen = Annotated[tuple[str, Port], BeforeValidator(_listen)]


class CloudSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    listen: Listen = ("127.0.0.1", 8080)
    data_dir: Path = Path("wallarm-cloud-data")
    database_url: Annotated[str, Field(max_length=4096)] | None = None
    admin_token: Annotated[str, Field(min_length=16, max_length=512)] | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    @model_validator(mode="after")
    def _tls_pair(self) -> CloudSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("--tls-cert-file and --tls-key-file go together")
        if self.admin_token is not None and self.admin_token.startswith("wsc1."):
            raise ValueError("the admin token may not look like a scoped credential (wsc1.)")
        return self


DATABASE_OPTIONS: tuple[Option, ...] = (
    Option(
        "data_dir",
        "--data-dir",
        "WALLARM_CLOUD_DATA_DIR",
        "directory of the SQLite database (created if missing)",
    ),
    Option(
        "database_url",
        "--database-url",
        "WALLARM_CLOUD_DATABASE_URL",
        "SQLAlchemy URL such as postgresql://user:pass@host/db (default: SQLite)",
    ),
)

CLOUD_OPTIONS: tuple[Option, ...] = (
    Option("listen", "--listen", "WALLARM_CLOUD_LISTEN", "address to serve on (HOST:PORT, :PORT)"),
    *DATABASE_OPTIONS,
    Option(
        "admin_token",
        "--admin-token",
        "WALLARM_CLOUD_ADMIN_TOKEN",
        "the first admin (deployment) token; default: generate one and print it once",
    ),
    Option("tls_cert_file", "--tls-cert-file", "WALLARM_CLOUD_TLS_CERT_FILE", "serve HTTPS"),
    Option("tls_key_file", "--tls-key-file", "WALLARM_CLOUD_TLS_KEY_FILE", "its private key"),
)
