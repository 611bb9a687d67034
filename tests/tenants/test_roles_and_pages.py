import pytest

from tenants.models import AgencyMembership, AgencyRole, ClientAccount
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_staff_sees_the_team_but_cannot_manage_it(cast, as_user):
    client = as_user(cast.staff)
    slug = cast.agency.slug
    page = client.get(f"/a/{slug}/team/")
    assert page.status_code == 200
    assert b"Invite" not in page.content
    assert client.get(f"/a/{slug}/team/invite/").status_code == 403
    owner_membership = cast.agency.memberships.get(user=cast.owner)
    assert client.post(f"/a/{slug}/team/{owner_membership.public_id}/remove/").status_code == 403
    assert client.post(f"/a/{slug}/team/{owner_membership.public_id}/role/", {"role": "staff"}).status_code == 403
    assert client.get(f"/a/{slug}/settings/").status_code == 403
    assert AgencyMembership.objects.filter(user=cast.owner, role=AgencyRole.OWNER).exists()


def test_client_admin_cannot_reach_agency_pages(cast, as_user):
    client = as_user(cast.client_admin)
    for path in ("clients/", "team/", "settings/", ""):
        assert client.get(f"/a/{cast.agency.slug}/{path}").status_code == 404
    assert client.get("/").url == f"/c/{cast.client_account.public_id}/"


def test_owner_changes_roles_but_the_last_owner_stays(cast, as_user):
    client = as_user(cast.owner)
    slug = cast.agency.slug
    staff = cast.agency.memberships.get(user=cast.staff)
    client.post(f"/a/{slug}/team/{staff.public_id}/role/", {"role": "admin"})
    staff.refresh_from_db()
    assert staff.role == AgencyRole.ADMIN
    owner = cast.agency.memberships.get(user=cast.owner)
    # Demoting or removing the only owner is refused with a message.
    response = client.post(f"/a/{slug}/team/{owner.public_id}/role/", {"role": "staff"}, follow=True)
    owner.refresh_from_db()
    assert owner.role == AgencyRole.OWNER
    assert b"at least one owner" in response.content
    response = client.post(f"/a/{slug}/team/{owner.public_id}/remove/", follow=True)
    assert AgencyMembership.objects.filter(pk=owner.pk).exists()
    assert b"at least one owner" in response.content


def test_admin_cannot_make_owners(cast, as_user):
    staff = cast.agency.memberships.get(user=cast.staff)
    staff.role = AgencyRole.ADMIN
    staff.save()
    owner = cast.agency.memberships.get(user=cast.owner)
    response = as_user(cast.staff).post(f"/a/{cast.agency.slug}/team/{owner.public_id}/role/", {"role": "staff"})
    assert response.status_code == 403
    form = as_user(cast.staff).get(f"/a/{cast.agency.slug}/team/invite/").context["form"]
    assert "owner" not in dict(form.fields["role"].choices)


def test_clients_list_searches_and_paginates(cast, as_user):
    ClientAccount.objects.bulk_create(
        ClientAccount(agency=cast.agency, name=f"Bulk {i:02}", time_zone="UTC") for i in range(30)
    )
    client = as_user(cast.staff)
    page1 = client.get(f"/a/{cast.agency.slug}/clients/")
    assert page1.context["page"].paginator.count == 32
    assert len(page1.context["page"].object_list) == 25
    assert b"Page 1 of 2" in page1.content
    found = client.get(f"/a/{cast.agency.slug}/clients/", {"q": "dental"})
    assert [c.name for c in found.context["page"].object_list] == ["A Dental"]
    # htmx live search answers only the rows.
    partial = client.get(f"/a/{cast.agency.slug}/clients/", {"q": "physio"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content and b"A Physio" in partial.content
    assert b"B Plumbing" not in client.get(f"/a/{cast.agency.slug}/clients/", {"q": "plumbing"}).content


def test_client_create_and_edit_keep_input_on_errors(cast, as_user):
    client = as_user(cast.staff)
    url = f"/a/{cast.agency.slug}/clients/new/"
    bad = client.post(url, {"name": "Sunny Spa", "time_zone": "Mars/Olympus", "contact_email": "not-an-email"})
    assert bad.status_code == 200
    assert b"Sunny Spa" in bad.content  # what was typed is kept
    assert bad.context["form"].errors.keys() == {"time_zone", "contact_email"}
    ok = client.post(url, {"name": "Sunny Spa", "time_zone": "Asia/Tokyo", "contact_email": "hi@sunny.test"})
    created = ClientAccount.objects.get(name="Sunny Spa")
    assert created.agency == cast.agency
    assert ok.url == f"/a/{cast.agency.slug}/clients/{created.public_id}/"
    client.post(
        f"/a/{cast.agency.slug}/clients/{created.public_id}/edit/",
        {"name": "Sunny Spa & Sauna", "time_zone": "Asia/Tokyo"},
    )
    created.refresh_from_db()
    assert created.name == "Sunny Spa & Sauna"


def test_switcher_lists_each_agency_and_home_remembers_the_last(cast, as_user):
    cast.agency_b.memberships.create(user=cast.staff, role=AgencyRole.STAFF)
    client = as_user(cast.staff)
    page = client.get(f"/a/{cast.agency.slug}/clients/")
    assert b"Agency B" in page.content and b"Agency A" in page.content
    client.get(f"/a/{cast.agency_b.slug}/clients/")
    assert client.get("/").url == f"/a/{cast.agency_b.slug}/"
    client.get(f"/a/{cast.agency.slug}/")
    assert client.get("/").url == f"/a/{cast.agency.slug}/"
    # Switching shows that agency's own clients only.
    assert b"B Plumbing" in client.get(f"/a/{cast.agency_b.slug}/clients/").content
    assert b"B Plumbing" not in client.get(f"/a/{cast.agency.slug}/clients/").content


def test_new_user_without_agency_creates_one_and_owns_it(db, as_user):
    user = UserFactory(email="solo@new.test")
    client = as_user(user)
    assert client.get("/").url == "/agencies/new/"
    response = client.post("/agencies/new/", {"name": "Solo Voice Co"})
    membership = AgencyMembership.objects.get(user=user)
    assert membership.role == AgencyRole.OWNER and membership.agency.slug == "solo-voice-co"
    assert response.url == "/a/solo-voice-co/clients/"


def test_platform_admin_is_for_superusers_only(cast, as_user):
    assert as_user(cast.owner).get("/admin/").status_code == 302
