from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.urls import reverse


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
        return self.get_login_redirect_url(request)
