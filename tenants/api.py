"""The read API's agency keys, paging and clients endpoint; voice/api.py adds calls and bookings.

A request names its agency only through its key (`Authorization: Bearer ah_<prefix>_<secret>`): the
authentication puts that Agency in request.auth and every endpoint reads through a selector scoped to it.
"""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission

from agencyhub.observability import log_context

from . import selectors, services
from .models import Agency, ApiKey, ClientAccount

KEY_HINT = "Send an agency API key as 'Authorization: Bearer ah_<prefix>_<secret>' (Settings → API keys)."
UNAUTHENTICATED = OpenApiResponse(description="No key, or a malformed, unknown or revoked one: the body says which.")


class ApiKeyAuthentication(BaseAuthentication):
    """Resolves the Bearer key to its agency: request.user stays anonymous, request.auth is the Agency."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            raise exceptions.NotAuthenticated(f"No API key. {KEY_HINT}")
        if header[0].lower() != b"bearer" or len(header) != 2:
            raise exceptions.AuthenticationFailed(f"Malformed Authorization header. {KEY_HINT}")
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            key = ""
        if ApiKey.prefix_of(key) is None:
            raise exceptions.AuthenticationFailed(f"Malformed API key. {KEY_HINT}")
        api_key = selectors.api_key_for_key(key=key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown API key.")
        if not api_key.is_active:
            raise exceptions.AuthenticationFailed("This API key was revoked.")
        services.api_key_touch(api_key=api_key)
        log_context.bind(agency=api_key.agency.slug)
        return AnonymousUser(), api_key.agency

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class HasAgencyKey(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, Agency)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "agencyApiKey"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")


class ApiPagination(PageNumberPagination):
    """Each list's selector orders by a unique key last, so rows that tie keep one order across pages."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class AgencyScoped:
    """Mixed into every v1 endpoint: the agency's key is the only way in, and its agency the only scope."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasAgencyKey]
    pagination_class = ApiPagination

    @property
    def agency(self) -> Agency:
        return self.request.auth


class ClientSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = ClientAccount
        fields = ["id", "name", "time_zone", "contact_email", "created_at"]


@extend_schema(
    summary="List clients",
    description="The agency's clients, by name.",
    responses={200: ClientSerializer(many=True), 401: UNAUTHENTICATED},
    tags=["clients"],
)
class ClientListApi(AgencyScoped, ListAPIView):
    serializer_class = ClientSerializer

    def get_queryset(self):
        return selectors.client_list(agency=self.agency)
