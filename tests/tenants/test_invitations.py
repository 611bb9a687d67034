import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tenants.models import AgencyMembership, AgencyRole, ClientMembership, ClientRole, Invitation, User
from tenants.services import invitation_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _link_from_outbox():
    assert len(mail.outbox) == 1
    match = re.search(r"http://\S+/invitations/\S+/", mail.outbox[0].body)
    assert match, mail.outbox[0].body
    return urlsplit(match.group(0)).path


def test_admin_invites_and_the_email_carries_a_working_link(cast, as_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(cast.owner).post(
            f"/a/{cast.agency.slug}/team/invite/", {"email": "Newbie@Example.test", "role": "staff"}
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get(email="Newbie@example.test")
    assert invitation.sent_at is not None
    assert mail.outbox[0].to == ["Newbie@example.test"]
    assert "Agency A" in mail.outbox[0].subject
    page = as_user(cast.owner).get(f"/a/{cast.agency.slug}/team/")
    assert b"Newbie@example.test" in page.content and b"pending" in page.content


def test_sign_up_through_an_invitation_needs_no_second_verification(cast, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(agency=cast.agency, email="fresh@a.test", role=AgencyRole.STAFF, invited_by=cast.owner)
    link = _link_from_outbox()
    landing = client.get(link)
    assert landing.status_code == 200
    assert b"Join Agency A" in landing.content
    signup = client.post(
        "/accounts/signup/",
        {"email": "fresh@a.test", "password1": "a-Long-unusual-pass-42", "password2": "a-Long-unusual-pass-42"},
    )
    # Signed in at once (the invitation proved the inbox) and already a member: no second Accept to click.
    assert signup.status_code == 302 and signup.url == f"/a/{cast.agency.slug}/"
    assert EmailAddress.objects.get(email="fresh@a.test").verified
    user = User.objects.get(email="fresh@a.test")
    assert AgencyMembership.objects.get(user=user).role == AgencyRole.STAFF
    assert client.get(signup.url).status_code == 200
    assert client.get(link).status_code == 410  # the invitation is used


def test_a_client_admin_who_signs_up_from_the_invitation_lands_in_their_portal(cast, client, as_user):
    invitation = invitation_create(
        agency=cast.agency, client=cast.client_account, email="new@client-a.test",
        role=ClientRole.CLIENT_ADMIN, invited_by=cast.owner,
    )  # fmt: skip
    client.get(reverse("invitation_accept", args=[invitation.token]))
    signup = client.post(
        "/accounts/signup/",
        {"email": "new@client-a.test", "password1": "a-Long-unusual-pass-42", "password2": "a-Long-unusual-pass-42"},
    )
    assert signup.status_code == 302 and signup.url == f"/c/{cast.client_account.public_id}/"
    user = User.objects.get(email="new@client-a.test")
    assert ClientMembership.objects.get(user=user).role == ClientRole.CLIENT_ADMIN
    assert "Welcome to" in client.get(signup.url).content.decode()


def test_an_invitation_works_once(cast, client, as_user):
    invitation = invitation_create(
        agency=cast.agency, email="once@a.test", role=AgencyRole.STAFF, invited_by=cast.owner
    )
    link = f"/invitations/{invitation.token}/"
    first = UserFactory(email="once@a.test")
    assert as_user(first).post(link).status_code == 302
    again = as_user(first).post(link)
    assert again.status_code == 410
    assert b"already been used" in again.content
    assert AgencyMembership.objects.filter(user=first).count() == 1


def test_an_expired_invitation_shows_a_clear_page(cast, as_user):
    invitation = invitation_create(
        agency=cast.agency, email="late@a.test", role=AgencyRole.STAFF, invited_by=cast.owner
    )
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    late = UserFactory(email="late@a.test")
    response = as_user(late).post(f"/invitations/{invitation.token}/")
    assert response.status_code == 410
    assert b"expired" in response.content
    assert not AgencyMembership.objects.filter(user=late).exists()


def test_forged_or_withdrawn_links_are_refused(cast, client, as_user):
    invitation = invitation_create(agency=cast.agency, email="x@a.test", role=AgencyRole.STAFF, invited_by=cast.owner)
    forged = client.get(f"/invitations/{invitation.public_id.hex}:AAAAAAAAAAAAAAAAAAAAAAAAAAA/")
    assert forged.status_code == 404 and b"not valid" in forged.content
    as_user(cast.owner).post(f"/a/{cast.agency.slug}/invitations/{invitation.public_id}/revoke/")
    withdrawn = client.get(f"/invitations/{invitation.token}/")
    assert withdrawn.status_code == 410 and b"withdrawn" in withdrawn.content


def test_someone_else_cannot_use_a_forwarded_invitation(cast, as_user):
    invitation = invitation_create(
        agency=cast.agency, email="meant@a.test", role=AgencyRole.ADMIN, invited_by=cast.owner
    )
    response = as_user(cast.outsider).post(f"/invitations/{invitation.token}/")
    assert response.status_code == 409
    assert b"was sent to meant@a.test" in response.content
    assert not cast.agency.memberships.filter(user=cast.outsider).exists()


def test_client_invitation_gives_the_client_view_only(cast, as_user):
    response = as_user(cast.staff).post(
        f"/a/{cast.agency.slug}/clients/{cast.client_account.public_id}/invite/",
        {"email": "boss@dental.test", "role": "client_admin"},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get(email="boss@dental.test")
    boss = UserFactory(email="boss@dental.test")
    accepted = as_user(boss).post(f"/invitations/{invitation.token}/")
    assert accepted.url == f"/c/{cast.client_account.public_id}/"
    assert ClientMembership.objects.get(user=boss).role == ClientRole.CLIENT_ADMIN
    assert as_user(boss).get(f"/a/{cast.agency.slug}/").status_code == 404


def test_duplicate_pending_invitation_is_a_form_error(cast, as_user):
    url = f"/a/{cast.agency.slug}/team/invite/"
    as_user(cast.owner).post(url, {"email": "dup@a.test", "role": "staff"})
    again = as_user(cast.owner).post(url, {"email": "dup@a.test", "role": "staff"})
    assert again.status_code == 200
    assert "already has a pending invitation" in str(again.context["form"].errors)
    assert Invitation.objects.filter(email="dup@a.test").count() == 1
