"""Property-based fuzzing of the served OpenAPI document with every phase and every check schemathesis has: each
operation on its own (the document's examples, boundary values, random valid and invalid requests), then the
stateful phase, which follows the document's links from what a create operation made to the reads and uses of it.
Real HTTP, a real bearer token, a real database; a fixed seed, so a run is reproducible."""

from collections import Counter

import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import engine
from schemathesis.engine import events
from schemathesis.specs.openapi.formats import unregister_string_format

from casework import doorplates
from casework import seed as demo_seed
from casework.db import db
from casework.models import Doorplate
from tests.conftest import BACKENDS
from tests.miniapp_support import jpeg_with_gps, png_bytes

MAX_EXAMPLES = 25  # per operation and phase; the whole run takes well under a minute
STATEFUL_STEPS = 40  # enough that every declared link is followed whatever the seed (checked with four seeds)
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
    unregister_string_format("binary")


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


def served_schema(live, authorization: str):
    """The document as the running server serves it (what the mini-program developers get), with the citizen's
    bearer token applied the way the document's security scheme says; a logout spends a token of its own."""
    schema = schemathesis.openapi.from_url(live.api("/openapi.json"))

    @schema.auth(refresh_interval=None)
    class Bearer:
        def get(self, case, ctx):
            return authorization

        def set(self, case, data, ctx):
            if case.method == "DELETE" and case.path.endswith("/session"):
                data = live.login("openid-leaver").headers["Authorization"]  # keep ours alive
            case.headers = {**(case.headers or {}), "Authorization": data}

    return schema


def reached_with_data(status: int) -> bool:
    """The request got past login and found what it named (a refusal of its state, 409, still did)."""
    return status not in (401, 404, 422) and status < 500


# Rate limits off: hundreds of generated requests from one citizen would otherwise mostly meet 429.
@pytest.mark.parametrize("live_server", [{"MINIAPP_RATE_LIMITS": {}}], indirect=True)
def test_every_phase_every_check_and_every_operation_reached_with_data(fuzz_target):
    """schemathesis's own engine, as its command line runs it, with every phase (the document's examples,
    boundary values, random valid and invalid requests, then scenarios that follow the document's links) and
    every check. Link inference is off: the declared links alone must lead to every operation."""
    live, authorization = fuzz_target
    with live.app.app_context():
        token = doorplates.token_for(db.session.query(Doorplate).order_by(Doorplate.id).first())
    schema = served_schema(live, authorization)
    # A doorplate's token comes from its printed QR code, never from another operation's answer.
    schema.config.update(base_url=live.url, parameters={"path.token": token})
    schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)
    schema.config.phases.stateful.inference.algorithms = []
    schema.config.phases.stateful.max_steps = STATEFUL_STEPS
    schema.config.seed = SEED
    failures, reached, by_links, links = [], Counter(), Counter(), None
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.PhaseStarted) and event.payload is not None:
            links = event.payload.transitions_total
        elif isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            failures.extend(
                f"{event.phase} {recorder.label}: {check.name} {check.failure_info.failure}"[:2000]
                for checks in recorder.checks.values()
                for check in checks
                if check.failure_info
            )
            for case_id, interaction in recorder.interactions.items():
                if interaction.response is not None and reached_with_data(interaction.response.status_code):
                    label = recorder.cases[case_id].value.operation.label
                    reached[label] += 1
                    by_links[label] += event.phase.name == "STATEFUL_TESTING"
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(repr(event))
    assert failures == []
    assert links >= 15
    every = {result.ok().label for result in schema.get_all_operations()}
    assert every - set(reached) == set(), reached
    # ... and each operation a link leads to was reached with data in the stateful phase, by following one.
    targets = {
        link_target(link)
        for op in operations(schema)
        for r in op["responses"].values()
        for link in r.get("links", {}).values()
    }
    assert len(targets) >= 8
    assert {t for t in targets if not by_links[t]} == set(), by_links


def operations(schema):
    return [op for ops in schema.raw_schema["paths"].values() for method, op in ops.items() if method != "parameters"]


def link_target(link: dict) -> str:
    path, method = link["operationRef"].removeprefix("#/paths/").rsplit("/", 1)
    return f"{method.upper()} {path.replace('~1', '/').replace('~0', '~')}"
