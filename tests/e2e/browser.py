"""What the browser tests share: where screenshots land and how a cast member signs in."""

from pathlib import Path

from django.conf import settings

from tests.factories import PASSWORD

SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"


def sign_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
