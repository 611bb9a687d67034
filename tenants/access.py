"""Access rules for portal views: who may see an agency's or a client's pages.

Outsiders get 404 (they learn nothing); members lacking the right role get 403.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

from agencyhub.observability import log_context

from .selectors import agency_membership_for_client, agency_memberships_for_user, client_membership_for_user

LAST_AGENCY_SESSION_KEY = "agency_slug"


def agency_view(*, manage: bool = False):
    """Resolves `agency_slug` to request.agency / request.membership; `manage` needs owner or admin."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, agency_slug, *args, **kwargs):
            # The person's memberships, read once: the navigation lists them too (context_processors.navigation).
            request.agency_memberships = list(agency_memberships_for_user(user=request.user))
            membership = next((m for m in request.agency_memberships if m.agency.slug == agency_slug), None)
            if membership is None:
                raise Http404("No such agency.")
            if manage and not membership.can_manage_team:
                raise PermissionDenied("Only owners and admins can do this.")
            request.agency, request.membership = membership.agency, membership
            log_context.bind(agency=agency_slug)
            if request.session.get(LAST_AGENCY_SESSION_KEY) != agency_slug:
                request.session[LAST_AGENCY_SESSION_KEY] = agency_slug
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _agency_preview(request, client_id):
    """An owner or admin of the client's agency looking at the client's portal ("view as client"): read-only.

    Returns the client, raises PermissionDenied for other agency members (and for any write), Http404 otherwise."""
    membership = agency_membership_for_client(user=request.user, client_public_id=client_id)
    if membership is None:
        raise Http404
    if not membership.can_manage_team:
        raise PermissionDenied("Only owners and admins can view a client's portal.")
    if request.method not in ("GET", "HEAD"):
        raise PermissionDenied("Viewing as the client is read-only.")
    return membership.agency.clients.get(public_id=client_id)


def client_portal_view(view):
    """Resolves `client_id` to request.client for a member of that client (client admin or viewer), or for an
    owner or admin of its agency viewing as the client (request.viewing_as_client, read-only)."""

    @login_required
    @wraps(view)
    def wrapper(request, client_id, *args, **kwargs):
        try:
            membership = client_membership_for_user(user=request.user, client_public_id=client_id)
        except Http404:
            request.client, request.client_membership = _agency_preview(request, client_id), None
            request.viewing_as_client = True
        else:
            request.client, request.client_membership = membership.client, membership
            request.viewing_as_client = False
        log_context.bind(agency=request.client.agency.slug)
        return view(request, *args, **kwargs)

    return wrapper
