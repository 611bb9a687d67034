from .access import LAST_AGENCY_SESSION_KEY
from .selectors import agency_memberships_for_user, client_memberships_for_user


def navigation(request):
    """What the shell needs on every page: the agencies to switch between and the current one.

    Pages outside an agency (account, two-factor) keep the agency the person last worked in.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = getattr(request, "agency_memberships", None)  # read already by an agency page (access.py)
    if memberships is None:
        memberships = list(agency_memberships_for_user(user=user))
    current = getattr(request, "membership", None)
    client = getattr(request, "client", None)
    if current is None and client is None and memberships:
        last = request.session.get(LAST_AGENCY_SESSION_KEY)
        current = next((m for m in memberships if m.agency.slug == last), memberships[0])
    return {
        "current_agency": current.agency if current else None,
        "current_membership": current,
        "current_client": client,
        "agency_memberships": memberships,
        "client_memberships": client_memberships_for_user(user=user),
    }
