from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.urls import reverse

from . import selectors, services


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        return settings.SIGNUP_OPEN or bool(request.session.get("invitation_token"))

    def get_login_redirect_url(self, request):
        # An invitation opened before signing in is finished right after it.
        token = request.session.get("invitation_token")
        if token:
            return reverse("invitation_accept", args=[token])
        return super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request):
        """Signing up from an invitation is accepting it: the new person lands where they were invited."""
        token = request.session.get("invitation_token")
        invitation = selectors.invitation_for_token(token=token) if token else None
        if invitation is None or invitation.status != "pending":
            return self.get_login_redirect_url(request)
        try:
            services.invitation_accept(invitation_id=invitation.pk, user=request.user)
        except services.InvitationError:
            return reverse("invitation_accept", args=[token])  # that page says why
        request.session.pop("invitation_token", None)
        messages.success(request, f"Welcome to {invitation.target_name}.")
        if invitation.client_id:
            return reverse("client_portal", args=[invitation.client.public_id])
        return reverse("dashboard", args=[invitation.agency.slug])
