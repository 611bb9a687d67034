from .selectors import agency_memberships_for_user, client_memberships_for_user


def navigation(request):
    """What the shell needs on every page: the agencies to switch between and the current one."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_agency": getattr(request, "agency", None),
        "current_membership": getattr(request, "membership", None),
        "current_client": getattr(request, "client", None),
        "agency_memberships": agency_memberships_for_user(user=user),
        "client_memberships": client_memberships_for_user(user=user),
    }
