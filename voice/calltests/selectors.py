from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from tenants.models import Agency
from voice.models import Assistant, CallTest


def call_tests_for_assistant(*, assistant: Assistant) -> QuerySet[CallTest]:
    return assistant.call_tests.select_related("source_call", "created_by").prefetch_related("steps")


def call_test_for_agency(*, agency: Agency, public_id) -> CallTest:
    tests = CallTest.objects.filter(assistant__client__agency=agency).select_related("assistant__client")
    return get_object_or_404(tests.prefetch_related("steps"), public_id=public_id)
