from django.contrib import admin

from .models import GhlAppCredentials, GhlCompanyInstall, GhlConnection

# Secrets and tokens are left out of every admin form and list: admins see state, never credentials.


@admin.register(GhlAppCredentials)
class GhlAppCredentialsAdmin(admin.ModelAdmin):
    list_display = ["agency", "client_id", "install_model", "updated_at"]
    fields = ["agency", "client_id", "install_model", "scopes", "updated_at"]
    readonly_fields = ["agency", "updated_at"]

    def has_add_permission(self, request):
        # Agencies enter their app on their settings page, where the secret is encrypted and never echoed.
        return False


@admin.register(GhlConnection)
class GhlConnectionAdmin(admin.ModelAdmin):
    list_display = ["client", "location_id", "kind", "status", "expires_at", "last_refreshed_at"]
    list_filter = ["status", "kind"]
    search_fields = ["location_id", "client__name"]
    fields = [
        "client",
        "location_id",
        "location_name",
        "company_id",
        "kind",
        "user_type",
        "scopes",
        "status",
        "expires_at",
        "connected_at",
        "last_refreshed_at",
        "last_error",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        # Connections come from a consent or a checked token, never typed in by hand.
        return False


@admin.register(GhlCompanyInstall)
class GhlCompanyInstallAdmin(admin.ModelAdmin):
    list_display = ["agency", "company_id", "expires_at", "last_refreshed_at"]
    fields = ["agency", "company_id", "scopes", "expires_at", "installed_at", "last_refreshed_at", "last_error"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False
