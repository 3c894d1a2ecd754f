"""Property-based fuzzing of the served OpenAPI document: schemathesis generates requests for every
operation (valid and invalid), sends them to the running server with a real bearer token, and checks that no
answer is a server error or breaks the document (status, content type, schema)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from casework import seed
from tests.conftest import BACKENDS
from tests.miniapp_support import png_bytes

MAX_EXAMPLES = 30
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(params=BACKENDS[:1])
def backend(request):
    """One database is enough here: the fuzzer tests the HTTP contract, the other suites cover both."""
    return request.param


@pytest.fixture
def fuzz_target(live_server):
    """The live server with a logged-in citizen who owns an incident (so ids 1 and up sometimes exist)."""
    live = live_server
    with live.app.app_context():
        seed.load_categories()
        seed.load_world()
    citizen = live.login("openid-fuzzer")
    upload = citizen.post(live.api("/uploads"), files={"file": ("p.png", png_bytes(), "image/png")}).json()
    answer = citizen.post(live.api("/incidents"), json={"description": "测试", "attachments": [upload["id"]]})
    assert answer.status_code == 201
    citizen.post(live.api("/complaints"), json={"incident_id": answer.json()["id"], "body": "测试投诉"})
    return live, citizen.headers["Authorization"]


# Rate limits off: hundreds of generated requests from one citizen would otherwise mostly meet 429.
@pytest.mark.parametrize("live_server", [{"MINIAPP_RATE_LIMITS": {}}], indirect=True)
def test_no_server_error_and_no_answer_outside_the_document(fuzz_target):
    live, authorization = fuzz_target
    # Loaded from the running server: the document under test is the one the mini-program developers get.
    schema = schemathesis.openapi.from_url(live.api("/openapi.json"))
    failures, operations = {}, 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
        )
        def fuzz(case):
            headers = dict(case.headers or {})
            headers["Authorization"] = authorization  # the generated value would be a random, invalid token
            if case.method == "DELETE" and case.path.endswith("/session"):
                headers["Authorization"] = live.login("openid-leaver").headers["Authorization"]  # keep ours alive
            case.call_and_validate(base_url=live.url, headers=headers, checks=CHECKS, timeout=30)

        try:
            fuzz()
        except Exception as exc:  # noqa: BLE001 - collected per operation and reported together below
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    assert operations >= 12
    assert failures == {}
