"""`GET /api/miniapp/v1/categories`: the codes a report's `category` takes, as the tree the Category table holds
(no login needed), declared in the OpenAPI document; a code from it is accepted by a report."""

import requests
from sqlalchemy import select, update

from casework import seed
from casework.db import db
from casework.models import Category, Incident


def test_the_category_tree_is_served_and_its_codes_are_accepted(live_server):
    live = live_server
    with live.app.app_context():
        seed.load_categories()
        db.session.execute(update(Category).where(Category.code == "0105").values(active=False))
        db.session.commit()
        majors = db.session.scalars(select(Category).where(Category.parent_id.is_(None), Category.active)).all()
        expected_majors = sorted((c.code, c.name) for c in majors)
        db.session.remove()
    answer = requests.get(live.api("/categories"), timeout=10)
    assert answer.status_code == 200
    tree = answer.json()["categories"]
    assert sorted((m["code"], m["name"]) for m in tree) == expected_majors
    children = [child for major in tree for child in major["children"]]
    codes = {child["code"] for child in children}
    assert children and "0105" not in codes  # an inactive category is not offered
    document = requests.get(live.api("/openapi.json"), timeout=10).json()
    assert "/api/miniapp/v1/categories" in document["paths"]
    # The document states the same codes the server takes, as they are now: the inactive one is not among them.
    declared = document["components"]["schemas"]["IncidentIn"]["properties"]["category"]["enum"]
    assert codes | {code for code, _name in expected_majors} == set(declared) and "0105" not in declared
    citizen = live.login("openid-categories")
    chosen = children[0]["code"]
    report = citizen.post(live.api("/incidents"), json={"description": "有人打架", "category": chosen})
    assert report.status_code == 201, report.text
    with live.app.app_context():
        assert db.session.scalar(select(Incident)).category.code == chosen
    refused = citizen.post(live.api("/incidents"), json={"description": "有人打架", "category": "0105"})
    assert refused.status_code == 422 and refused.json()["fields"] == {"category": ["警情类别不存在"]}
