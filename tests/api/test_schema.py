"""The OpenAPI 3 document and Swagger UI: complete, warning-free, served locally."""

from __future__ import annotations

import re

import yaml
from django.core.management import call_command
from django.test import Client


def test_the_schema_generates_without_warnings_or_errors(tmp_path):
    """drf-spectacular's own check (with --fail-on-warn) passes on the whole site."""
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out), "--validate", "--fail-on-warn")
    assert yaml.safe_load(out.read_text())["openapi"].startswith("3.")


def test_the_schema_documents_bearer_tokens_and_error_responses(db):
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    document = response.json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert set(document["components"]["schemas"]["Problem"]["properties"]) == {
        "type",
        "title",
        "detail",
        "errors",
    }
    publish = document["paths"]["/api/v1/topics/{topic}/events"]["post"]
    assert {"401", "403", "404", "413", "422", "429", "503"} <= set(
        publish["responses"]
    )
    assert {"bearerAuth": []} in publish["security"]
    reset = document["paths"]["/api/v1/topics/{topic}/groups/{group}/reset"]["post"]
    assert "409" in reset["responses"]


def test_swagger_ui_is_served_from_local_assets(db):
    """The docs page loads its scripts from this site's static files, not a CDN."""
    page = Client().get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "cdn." not in html and "unpkg" not in html
    scripts = re.findall(r'src="([^"]+\.js)"', html)
    assert scripts, html
    for src in scripts:
        assert src.startswith("/static/"), src
        asset = Client().get(src)
        assert asset.status_code == 200, src
