"""Why a time was not offered: each availability answer records the slots considered and the reason for every one
the caller did not hear; a refused booking records the reason. The spoken answer is what it always was."""

from datetime import date, datetime, timedelta
from unittest import mock

import pytest

from integrations.ghl.errors import GhlSlotUnavailable
from tests.vapi import CHICAGO, next_weekday, tool_calls, tool_results, vapi_post
from voice.live import explanations, slots
from voice.models import ToolCallRecord, default_business_hours

TUESDAY = date(2026, 3, 17)


def at(hour: int, minute: int = 0, day: date = TUESDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO)


def half_hours(first: int, last: int, day: date = TUESDAY) -> list[datetime]:
    return [at(hour, minute, day) for hour in range(first, last) for minute in (0, 30)]


def fates(offer: explanations.DayOffer) -> dict[str, str]:
    return {f"{moment:%H:%M}": fate for moment, fate in offer.in_order()}


def test_spread_choice_too_soon_and_taken_slots_each_get_their_reason():
    slots = [s for s in half_hours(9, 17) if s not in (at(13), at(13, 30))]  # 1 PM and 1:30 are booked in GHL

    (offer,) = explanations.offers_for_days(
        {TUESDAY: slots}, earliest=at(9, 45), part="", hours=default_business_hours(), minutes=30
    )

    reasons = fates(offer)
    assert [f"{m:%H:%M}" for m in offer.offered] == ["10:00", "14:00", "16:30"]
    assert reasons["09:00"] == reasons["09:30"] == explanations.TOO_SOON
    assert reasons["13:00"] == reasons["13:30"] == explanations.TAKEN
    assert reasons["11:00"] == explanations.SPREAD
    assert reasons["16:00"] == explanations.SPREAD


def test_part_of_day_asked_leaves_the_rest_of_the_day_out():
    (offer,) = explanations.offers_for_days(
        {TUESDAY: half_hours(9, 17)}, earliest=at(0), part="afternoon", hours=default_business_hours(), minutes=30
    )

    reasons = fates(offer)
    assert {reasons[t] for t in ("09:00", "11:30")} == {explanations.PART_OF_DAY}
    assert all(moment.hour >= 12 for moment in offer.offered)


def test_a_day_without_slots_says_closed_or_ghl_had_none():
    sunday, wednesday = TUESDAY + timedelta(days=5), TUESDAY + timedelta(days=1)

    closed, full = explanations.offers_for_days(
        {sunday: [], wednesday: []}, earliest=at(0), part="", hours=default_business_hours(), minutes=30
    )

    assert closed.day == wednesday and closed.note == explanations.NONE_FROM_GHL
    assert full.day == sunday and full.note == explanations.OUTSIDE_HOURS


def test_an_evening_asked_of_a_nine_to_five_day_is_outside_hours():
    (offer,) = explanations.offers_for_days(
        {TUESDAY: half_hours(9, 17)}, earliest=at(0), part="evening", hours=default_business_hours(), minutes=30
    )

    assert offer.offered == [] and offer.note == explanations.OUTSIDE_HOURS


def test_times_past_what_one_answer_speaks_are_marked():
    days = {TUESDAY + timedelta(days=n): half_hours(9, 17, TUESDAY + timedelta(days=n)) for n in range(3)}
    offers = explanations.offers_for_days(days, earliest=at(0), part="", hours=None, minutes=30)

    details = explanations.availability_details(calendar="cleaning", part="", asked=offers)

    fates_seen = [slot["reason"] for day in details["days"] for slot in day["slots"]]
    assert fates_seen.count(explanations.OFFERED) == 6 and fates_seen.count(explanations.OVER_LIMIT) == 3


@pytest.mark.django_db
def test_the_availability_record_explains_what_the_caller_heard(live, client):
    tuesday = next_weekday()
    args = {"start_time": f"{tuesday.isoformat()}T10:00", "name": "Ada", "service": "cleaning"}
    tool_results(vapi_post(client, live.url, tool_calls(("b1", "book_appointment", args))))

    (answer,) = tool_results(
        vapi_post(
            client,
            live.url,
            tool_calls(("c1", "check_availability", {"date": tuesday.isoformat(), "part_of_day": "morning"})),
        )
    )

    # The sandbox opens 9 to 5 on the half hour; 10 AM is now booked.
    assert (
        answer["result"]
        == f"For cleaning, I have {tuesday:%A}, {tuesday:%B} {tuesday.day} at 9 AM, 10:30 AM or 11:30 AM."
    )
    details = ToolCallRecord.objects.get(tool_call_id="c1").details
    (day,) = details["days"]
    reasons = {datetime.fromisoformat(s["at"]).strftime("%H:%M"): s["reason"] for s in day["slots"]}
    assert reasons["10:00"] == explanations.TAKEN
    assert reasons["11:00"] == explanations.SPREAD and reasons["14:00"] == explanations.PART_OF_DAY
    offered = [t for t, reason in reasons.items() if reason == explanations.OFFERED]
    assert offered == ["09:00", "10:30", "11:30"]


@pytest.mark.django_db
def test_a_refused_booking_records_the_reason(live, client):
    tuesday = next_weekday()
    args = {"start_time": f"{tuesday.isoformat()}T10:00", "name": "Ada", "service": "cleaning"}
    tool_results(vapi_post(client, live.url, tool_calls(("b1", "book_appointment", args))))

    tool_results(vapi_post(client, live.url, tool_calls(("b2", "book_appointment", args), call_id="call-2")))
    with (
        mock.patch("voice.live.booking.slot_is_free", return_value=(True, [])),
        mock.patch(
            "integrations.ghl.client.GhlClient.create_appointment",
            side_effect=GhlSlotUnavailable("The slot you have selected is no longer available.", status_code=400),
        ),
    ):
        tool_results(
            vapi_post(
                client,
                live.url,
                tool_calls(
                    ("b3", "book_appointment", {**args, "start_time": f"{tuesday.isoformat()}T11:00"}), call_id="call-3"
                ),
            )
        )

    gone = ToolCallRecord.objects.get(tool_call_id="b2").details
    assert (gone["action"], gone["reason"]) == ("refused", "not_free") and gone["nearest"]
    refused = ToolCallRecord.objects.get(tool_call_id="b3").details
    assert (refused["reason"], refused["ghl_status"]) == ("ghl_refused", 400)
    assert refused["ghl_said"] == "The slot you have selected is no longer available."
    # What the first booking confirmed is kept for the proof, and a repeat of it keeps it.
    tool_results(vapi_post(client, live.url, tool_calls(("b1", "book_appointment", args))))
    assert ToolCallRecord.objects.get(tool_call_id="b1").details["action"] == "booked"


def _cached(moments: list[datetime]):
    """A day as the slots cache hands it out: the same parse for every request while the day stays cached."""
    day = slots.ParsedDay(moments)
    day.parsed = tuple(moments)
    return day


def test_a_cached_day_asked_again_later_in_the_day_leaves_out_what_is_now_too_soon():
    moments = half_hours(9, 12)
    cached = _cached(moments)
    early = explanations.offers_for_days(
        {TUESDAY: cached}, earliest=at(7), part="", hours=default_business_hours(), minutes=30
    )
    later = explanations.offers_for_days(
        {TUESDAY: _same_parse(cached)},
        earliest=at(10, 15),
        part="",
        hours=default_business_hours(),
        minutes=30,
    )
    assert "too_soon" not in fates(early[0]).values()
    assert fates(later[0])["09:00"] == fates(later[0])["10:00"] == "too_soon"
    assert all(moment >= at(10, 15) for moment in later[0].offered)


def test_a_cached_day_asked_for_another_part_of_the_day_is_worked_out_for_it():
    cached = _cached(half_hours(9, 17))
    hours = default_business_hours()
    morning = explanations.offers_for_days({TUESDAY: cached}, earliest=at(7), part="morning", hours=hours, minutes=30)
    afternoon = explanations.offers_for_days(
        {TUESDAY: _same_parse(cached)}, earliest=at(7), part="afternoon", hours=hours, minutes=30
    )
    again = explanations.offers_for_days(
        {TUESDAY: _same_parse(cached)}, earliest=at(7), part="morning", hours=hours, minutes=30
    )
    assert all(moment.hour < 12 for moment in morning[0].offered)
    assert all(moment.hour >= 12 for moment in afternoon[0].offered)
    assert fates(again[0]) == fates(morning[0])


def _same_parse(cached):
    day = slots.ParsedDay(cached)
    day.parsed = cached.parsed
    return day


@pytest.mark.django_db
def test_the_same_cached_day_is_said_and_recorded_for_each_way_it_is_asked(live, client):
    """What is said from a cached day is worked out once per way of asking (explanations.kept_for_offers): the
    part of the day and the calendar's spoken name still change the answer and its record."""
    tuesday = next_weekday()

    def ask(tool_id, part, service="cleaning"):
        args = {"date": tuesday.isoformat(), "part_of_day": part, "service": service}
        message = tool_calls((tool_id, "check_availability", args))
        (answer,) = tool_results(vapi_post(client, live.url, message))
        return answer["result"], ToolCallRecord.objects.get(tool_call_id=tool_id).details

    morning, morning_details = ask("c1", "morning")
    afternoon, afternoon_details = ask("c2", "afternoon")
    again, again_details = ask("c3", "morning")
    assert " 9 AM" in morning and "PM" not in morning
    assert " 9 AM" not in afternoon and "PM" in afternoon
    assert (again, again_details) == (morning, morning_details)
    assert afternoon_details["part_of_day"] == "afternoon" and again_details["part_of_day"] == "morning"

    calendar = live.assistant.calendars.get(spoken_name="cleaning")
    calendar.spoken_name = "deep cleaning"
    calendar.save()
    renamed, renamed_details = ask("c4", "morning", "deep cleaning")
    assert renamed == morning.replace("For cleaning,", "For deep cleaning,")
    assert renamed_details["calendar"] == "deep cleaning"
