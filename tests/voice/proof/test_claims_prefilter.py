"""A turn of the assistant is looked at sentence by sentence only when it holds a claim's verb and one of the
claim patterns matches it somewhere: most turns cost a few substring checks, a turn without claims one search.
What it finds is what the sentence-by-sentence reading finds, "a.m." included."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice.models import Call
from voice.proof import claims
from voice.proof.claims import BOOKED, CANCELLED, RESCHEDULED

SAID = [
    "Hi, thanks for calling! How can I help?",
    "Your appointment at 10 a.m. is confirmed. See you then.",
    "Great news. You're all booked for Tuesday at 3 PM!",
    "I've moved it from Monday at 9 to Wednesday at 2 PM. Anything else?",
    "The cleaning was cancelled. It's now cancelled, as you asked.",
    "I could not book that. Would you like another time? If so, your appointment is booked once you say yes.",
    "Your visit on March 3rd at noon is set.\nGoodbye.",
    "Let me check the calendar for you.",
]
# Letters the patterns match case-insensitively beyond ASCII: a long s, a Kelvin sign, a dotless i.
FOLDED = [
    "YOUR APPOINTMENT IS ſCHEDULED FOR 4 PM.",
    "You're all boo\u212aed for Friday at 9 AM.",
    "Your visit is confırmed for noon.",
]


def _reference(text: str) -> list:
    """Every sentence read, as before the prefilter."""
    day = datetime(2030, 3, 1, tzinfo=UTC).date()
    return [c for s in claims._sentences(text) if (c := claims.sentence_claim(s, call_day=day)) is not None]


@pytest.mark.parametrize("text", SAID + FOLDED)
def test_the_prefilter_finds_what_every_sentence_finds(text):
    call = Call(started_at=datetime(2030, 3, 1, 15, tzinfo=UTC), messages=[{"role": "bot", "message": text}])
    assert claims.spoken_claims(call, ZoneInfo("UTC")) == list(dict.fromkeys(_reference(text)))


def test_claims_split_by_a_m_and_turns_without_claims():
    actions = [claims.sentence_claim(s).action for t in SAID for s in claims._sentences(t) if claims.sentence_claim(s)]
    assert {BOOKED, RESCHEDULED, CANCELLED} <= set(actions)
    assert claims.ANY_CLAIM.search(claims.MERIDIEM_DOTS.sub(r"\1m", SAID[1]))
    assert not claims.ANY_CLAIM.search(SAID[0]) and not claims.ANY_CLAIM.search(SAID[-1])


@pytest.mark.parametrize(
    ("said", "sentences"),
    [
        # "p.m." then a capital: its dot ends the claim, and the question after it is a sentence of its own.
        (
            "You're all booked for Tuesday at 2 p.m. Anything else I can help with?",
            ["You're all booked for Tuesday at 2 pm.", "Anything else I can help with?"],
        ),
        # Inside a sentence it is only an abbreviation.
        ("Your appointment at 9 a.m. on Friday is confirmed.", ["Your appointment at 9 am on Friday is confirmed."]),
    ],
)
def test_a_m_and_p_m_end_a_sentence_only_before_a_capital(said, sentences):
    assert claims._sentences(said) == sentences


def test_a_booking_said_before_a_question_in_the_same_turn_is_a_claim():
    call = Call(
        started_at=datetime(2030, 3, 1, 15, tzinfo=UTC),
        messages=[{"role": "bot", "message": "You're all booked for Tuesday at 2 p.m. Anything else?"}],
    )
    (claim,) = claims.spoken_claims(call, ZoneInfo("UTC"))
    assert claim.action == BOOKED and claim.weekdays == (1,)


TURNS = [
    *SAID,
    *FOLDED,
    "",
    "I'd like to book a cleaning next Tuesday morning.",
    "AI: Your appointment is confirmed for 3 PM.\nUser: thanks",
    "Bot: booked\ncontinued line: set for noon",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    messages=st.lists(
        st.one_of(
            st.fixed_dictionaries(
                {
                    "role": st.one_of(
                        st.sampled_from(["bot", "assistant", "user", "system", "tool_calls", "tool_call_result"]),
                        st.lists(st.just("bot"), max_size=1),
                        st.dictionaries(st.just("bot"), st.integers(), max_size=1),
                    )
                },
                optional={
                    "message": st.sampled_from(TURNS),
                    "content": st.one_of(st.sampled_from(TURNS), st.lists(st.sampled_from(TURNS), max_size=2)),
                    "result": st.sampled_from(TURNS),
                },
            ),
            st.sampled_from(TURNS),
            st.none(),
        ),
        max_size=4,
    )
    | st.sampled_from([None, "not a list", {}]),
    transcript=st.lists(st.sampled_from(TURNS), max_size=3).map("\n".join),
)
def test_a_call_whose_words_hold_no_claim_verb_is_passed_over_with_exactly_the_same_claims(
    messages, transcript, monkeypatch
):
    call = Call(started_at=datetime(2030, 3, 1, 15, tzinfo=UTC), messages=messages, transcript=transcript)
    found = claims.spoken_claims(call, ZoneInfo("UTC"))
    with monkeypatch.context() as m:
        m.setattr(claims, "_words_may_claim", lambda call: True)
        assert found == claims.spoken_claims(call, ZoneInfo("UTC"))


def test_an_assistant_whose_words_hold_no_claim_verb_is_never_read_turn_by_turn(monkeypatch):
    # The caller's "booked" is not the assistant's: only the assistant's messages (and a transcript) are looked at.
    call = Call(
        started_at=datetime(2030, 3, 1, 15, tzinfo=UTC),
        messages=[{"role": "bot", "message": "Let me check the calendar."}, {"role": "user", "message": "booked?"}],
    )
    monkeypatch.setattr(claims, "conversation_turns", lambda **kwargs: pytest.fail("turns built"))
    assert claims.spoken_claims(call, ZoneInfo("UTC")) == []
