from django.contrib import admin

from voice.models import Assistant, AssistantCalendar, AssistantRevision, PhoneNumber, VapiAccount


@admin.register(VapiAccount)
class VapiAccountAdmin(admin.ModelAdmin):
    list_display = ["agency", "verified_at", "updated_at"]
    # Secrets never appear in the admin.
    exclude = ["api_key", "webhook_secret"]
    readonly_fields = ["agency", "verified_at", "verify_error"]


class AssistantCalendarInline(admin.TabularInline):
    model = AssistantCalendar
    extra = 0


@admin.register(Assistant)
class AssistantAdmin(admin.ModelAdmin):
    list_display = ["name", "client", "model", "sync_status", "synced_at"]
    list_filter = ["sync_status", "client__agency"]
    search_fields = ["name", "client__name", "vapi_id"]
    readonly_fields = ["public_id", "vapi_id", "sync_status", "sync_error", "synced_at"]
    inlines = [AssistantCalendarInline]


@admin.register(AssistantRevision)
class AssistantRevisionAdmin(admin.ModelAdmin):
    list_display = ["assistant", "author", "created_at"]
    readonly_fields = ["assistant", "author", "snapshot", "changed_fields", "prompt_diff"]


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    list_display = ["number", "agency", "assistant"]
    search_fields = ["number", "vapi_id"]
