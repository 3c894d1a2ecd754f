"""Property-based fuzzing of the served OpenAPI document with every check schemathesis has: each operation on its
own (valid and invalid requests), then the stateful phase, which follows the document's links from what a create
operation made to the reads of it. Real HTTP, a real bearer token, a real database; a fixed seed."""

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from casework import doorplates
from casework import seed as demo_seed
from casework.db import db
from casework.models import Doorplate
from tests.conftest import BACKENDS
from tests.miniapp_support import jpeg_with_gps, png_bytes

MAX_EXAMPLES = 25
STATEFUL_STEPS = 12
SEED = 110


@pytest.fixture(params=BACKENDS[:1])
def backend(request):
    """One database is enough here: the fuzzer tests the HTTP contract, the other suites cover both."""
    return request.param


@pytest.fixture(autouse=True)
def evidence_files():
    """An upload's `file` is `format: binary`, but the server judges its type by content (the document says
    JPEG, PNG or MP4): the fuzzer sends real photos; the refusal of other content is tested in test_miniapp_uploads."""
    schemathesis.openapi.format("binary", st.sampled_from([png_bytes(), png_bytes((8, 8)), jpeg_with_gps((32, 24))]))
    yield
    schemathesis.openapi.format("binary", st.binary().filter(bool))  # the next use re-registers its own


@pytest.fixture
def fuzz_target(live_server):
    """The live server with a logged-in citizen who owns an incident (so ids 1 and up sometimes exist)."""
    live = live_server
    with live.app.app_context():
        demo_seed.load_categories()
        demo_seed.load_world()
    citizen = live.login("openid-fuzzer")
    upload = citizen.post(live.api("/uploads"), files={"file": ("p.png", png_bytes(), "image/png")}).json()
    answer = citizen.post(live.api("/incidents"), json={"description": "测试", "attachments": [upload["id"]]})
    assert answer.status_code == 201
    citizen.post(live.api("/complaints"), json={"incident_id": answer.json()["id"], "body": "测试投诉"})
    return live, citizen.headers["Authorization"]


def headers_for(live, case, authorization: str) -> dict:
    headers = dict(case.headers or {})
    headers["Authorization"] = authorization  # the generated value would be a random, invalid token
    if case.method == "DELETE" and case.path.endswith("/session"):
        headers["Authorization"] = live.login("openid-leaver").headers["Authorization"]  # keep ours alive
    return headers


def failure_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:3000]


# Rate limits off: hundreds of generated requests from one citizen would otherwise mostly meet 429.
@pytest.mark.parametrize("live_server", [{"MINIAPP_RATE_LIMITS": {}}], indirect=True)
def test_every_operation_passes_every_check(fuzz_target):
    live, authorization = fuzz_target
    # Loaded from the running server: the document under test is the one the mini-program developers get.
    schema = schemathesis.openapi.from_url(live.api("/openapi.json"))
    failures, operations, answered = {}, 0, Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @seed(SEED)
        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
        )
        def fuzz(case):
            response = case.call_and_validate(base_url=live.url, headers=headers_for(live, case, authorization))
            if response.status_code < 300:
                answered[operation.label] += 1

        try:
            fuzz()
        except BaseException as exc:  # noqa: BLE001 - collected per operation and reported together below
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures[operation.label] = failure_text(exc)
    assert operations >= 16
    assert not failures, "\n\n".join(f"{label}: {text}" for label, text in failures.items())
