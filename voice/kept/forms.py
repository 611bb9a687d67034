from decimal import Decimal

from django import forms


class ServiceValuesForm(forms.Form):
    """One optional amount per service (GHL calendar) of the client: what a kept appointment is typically worth."""

    def __init__(self, *args, services: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.services = services
        for service in services:
            self.fields[self.field_name(service)] = forms.DecimalField(
                label=service["name"] or service["calendar_id"],
                required=False,
                min_value=Decimal(0),
                max_digits=10,
                decimal_places=2,
                initial=service["value"],
                help_text="Typical value of one kept appointment. Empty: not counted in the estimate.",
            )

    @staticmethod
    def field_name(service: dict) -> str:
        return f"value_{service['calendar_id']}"

    def values(self) -> dict[str, tuple[str, Decimal | None]]:
        return {s["calendar_id"]: (s["name"], self.cleaned_data.get(self.field_name(s))) for s in self.services}
