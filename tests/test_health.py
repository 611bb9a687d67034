from unittest import mock

from django.db import OperationalError


def test_healthz_reports_database_and_cache(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}


def test_healthz_names_the_failing_part_without_details(client, db):
    with mock.patch("agencyhub.health._database", side_effect=OperationalError("password=hunter2 failed")):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "error: OperationalError", "cache": "ok"}
    assert "hunter2" not in response.content.decode()
