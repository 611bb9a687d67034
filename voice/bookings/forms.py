from django import forms

from voice.bookings.selectors import BookingFilters
from voice.calls.forms import ClientPickerForm, client_choices
from voice.models import AppointmentStatus, BookingStatus

# What the business marked in GHL after the visit; the rest of GHL's statuses say nothing of the visit.
VISIT_CHOICES = [("", "Any visit"), (AppointmentStatus.SHOWED, "Kept"), (AppointmentStatus.NOSHOW, "No-show")]

BOOKING_WHEN_CHOICES = [("upcoming", "Upcoming"), ("past", "Past")]


class BookingFilterForm(forms.Form):
    when = forms.ChoiceField(choices=BOOKING_WHEN_CHOICES, required=False)
    status = forms.ChoiceField(required=False)
    visit = forms.ChoiceField(choices=VISIT_CHOICES, required=False, label="Visit")
    client = forms.ChoiceField(required=False)

    def __init__(self, *args, clients=None, statuses=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "Any status")] + [
            (value, label) for value, label in BookingStatus.choices if statuses is None or value in statuses
        ]
        if clients is None:
            del self.fields["client"]
        else:
            self.fields["client"].choices = client_choices(clients)
            self.fields["client_q"] = ClientPickerForm.base_fields["client_q"]

    def filters(self) -> BookingFilters:
        data = getattr(self, "cleaned_data", {})
        return BookingFilters(
            when=data.get("when") or "upcoming",
            status=data.get("status") or "",
            client_id=data.get("client") or "",
            ghl_status=data.get("visit") or "",
        )
