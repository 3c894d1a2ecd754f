"""A 405 carries the `Allow` header (RFC 9110) on every channel: every mini-program API path, the pages and the
WeChat callback, each answered in its channel's shape."""

import re

import pytest

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_405_names_the_allowed_methods(client, backend):
    document = client.get("/api/miniapp/v1/openapi.json").json
    checked = 0
    for path, operations in document["paths"].items():
        declared = {method.upper() for method in operations if method.upper() in METHODS}
        for method in set(METHODS) - declared:
            answer = client.open(concrete(path), method=method)
            assert answer.status_code == 405, (method, path)
            allowed = {m.strip() for m in answer.headers.get("Allow", "").split(",")}
            assert declared <= allowed, (method, path, answer.headers.get("Allow"))
            assert answer.is_json and answer.json["error"] == "method_not_allowed"
            checked += 1
    assert checked >= 11
    page = client.delete("/d/anything")
    assert page.status_code == 405 and "GET" in page.headers["Allow"] and "text/html" in page.content_type
    callback = client.put("/wechat")
    assert callback.status_code == 405 and "POST" in callback.headers["Allow"]
    assert callback.content_type.startswith("text/plain")
