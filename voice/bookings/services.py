"""Bookings kept in step with GHL: its appointment webhooks move, cancel and confirm what assistants booked."""

from django.utils.dateparse import parse_datetime

from integrations.ghl.selectors import client_for_location
from voice.live.slots import slots_invalidate
from voice.messaging.reminders import reminders_plan_for_booking
from voice.models import Booking, BookingStatus


def booking_sync_from_ghl(event) -> None:
    """Inbox handler for GHL AppointmentCreate/Update/Delete: the cache forgets the calendar's slots, and a
    booking an assistant made follows the appointment's new time or status."""
    body = event.body
    appointment = body.get("appointment") or {}
    client = event.client
    if client is None and body.get("locationId"):
        client = client_for_location(body["locationId"])
    if client is None or not appointment.get("id"):
        return
    if appointment.get("calendarId"):
        slots_invalidate(client_id=client.pk, calendar_id=appointment["calendarId"])
    booking = Booking.objects.filter(client=client, ghl_appointment_id=appointment["id"]).first()
    if booking is None:
        return
    status = str(appointment.get("appointmentStatus") or "").lower()
    start = parse_datetime(appointment.get("startTime") or "")
    end = parse_datetime(appointment.get("endTime") or "")
    if event.event_type == "AppointmentDelete" or status == "cancelled":
        booking.status = BookingStatus.CANCELLED
    elif start and start != booking.start:
        booking.status = BookingStatus.RESCHEDULED
        booking.start, booking.end = start, end or booking.end
    booking.save(update_fields=["status", "start", "end", "updated_at"])
    reminders_plan_for_booking(booking=booking)
