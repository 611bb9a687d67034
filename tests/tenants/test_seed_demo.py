import pytest
from django.core.management import call_command

from tenants.models import Agency, AgencyRole, ClientAccount

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_signs_in(client, monkeypatch, capsys):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-for-tests")
    call_command("seed_demo")
    call_command("seed_demo")
    agency = Agency.objects.get(slug="demo")
    assert agency.memberships.get(user__email="owner@demo.test").role == AgencyRole.OWNER
    assert agency.memberships.get(user__email="staff@demo.test").role == AgencyRole.STAFF
    clients = ClientAccount.objects.filter(agency=agency)
    assert clients.count() == 2
    assert len({c.time_zone for c in clients}) == 2
    assert "owner@demo.test" in capsys.readouterr().out
    response = client.post("/accounts/login/", {"login": "owner@demo.test", "password": "demo-pass-for-tests"})
    assert response.status_code == 302
    assert client.get("/").url == "/a/demo/"


def test_seed_demo_prints_a_generated_password(monkeypatch, capsys, client):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("seed_demo")
    out = capsys.readouterr().out
    password = next(line.split()[-1] for line in out.splitlines() if "Password" in line)
    assert client.post("/accounts/login/", {"login": "owner@demo.test", "password": password}).status_code == 302
