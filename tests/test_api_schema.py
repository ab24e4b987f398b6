"""The JSON API against its own OpenAPI document: generated requests (valid and not) never get a 500, and every
answer fits the schema the document gives for it."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tidings.config import load_config
from tidings.demo import run_demo
from tidings.web.app import create_app

# No server error, only documented statuses, content types and shapes, and invalid requests refused. A request
# the document allows may still be refused (a cursor or an id this server never gave out), so acceptance of every
# schema-valid request is not among the checks.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    run_demo(folder)
    application = create_app(load_config(folder / "tidings.toml"))
    yield application
    application.state.site.store.close()


@pytest.fixture(scope="module")
def api(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_the_api_keeps_to_its_document(api):
    checked = []
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def keeps_to_it(case):
            case.call_and_validate(checks=CHECKS)

        keeps_to_it()
        checked.append(operation.label)
    assert len(checked) == 7


def test_the_document_covers_every_api_route(app):
    routes = {r.path for r in app.routes if getattr(r, "path", "").startswith("/api/") and r.path != "/api/docs"
              and r.path != "/api/"}  # (which leads to the docs)
    paths = set(app.openapi()["paths"])
    assert routes <= paths and all(p.startswith("/api/") for p in paths)
