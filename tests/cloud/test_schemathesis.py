"""Schemathesis against the OpenAPI document of a live `wallarm-sidecar cloud` process.

For each operation of `/openapi.json`, Hypothesis generates a bounded number of valid
and invalid requests (`EXAMPLES`); every answer must be no 5xx and conform to the
document (status code documented, content type, body schema), invalid input must be
refused, and calls without the token must be refused. Runs once on SQLite and once on
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tests.cloud._postgres import PostgresServer
from tests.cloud._process import CloudProcess, cloud_process

EXAMPLES = 10
NOT_CHECKED = [
    # Starlette answers a 405 with the `Allow` of the first route of that path only
    # (GET and POST of /tokens are two routes): a framework quirk, not the API's.
    checks.allow_header_conformance,
    # Rules across fields (a node token needs a group, one mode rule per scope) are not
    # in the JSON schema, so some "valid" bodies are rightly refused with a 422.
    checks.positive_data_acceptance,
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CloudProcess]:
    data_dir = tmp_path_factory.mktemp("schemathesis")
    if request.param == "sqlite":
        with cloud_process(f"sqlite:///{data_dir / 'cloud.sqlite3'}", data_dir) as cloud:
            yield cloud
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = server.create_database()
    try:
        with cloud_process(server.url(name), data_dir) as cloud:
            yield cloud
    finally:
        server.drop_database(name)


@pytest.fixture(scope="module")
def api_schema(live_cloud: CloudProcess) -> schemathesis.BaseSchema:
    # Unknown query parameters are ignored, as HTTP APIs do: not generated as "invalid".
    config = schemathesis.config.SchemathesisConfig.from_dict(
        {"generation": {"allow-extra-parameters": False}}
    )
    return schemathesis.openapi.from_url(f"{live_cloud.base}/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_conforms_to_its_document(
    case: schemathesis.Case, live_cloud: CloudProcess
) -> None:
    case.call_and_validate(headers=live_cloud.headers, excluded_checks=NOT_CHECKED)
