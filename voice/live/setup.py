"""What a live call needs from the database, cached: the agency's auth material and each assistant's setup.

A tool call is answered while a caller waits, so the rows it needs (agency, Vapi secret, assistant,
calendars, GHL location) are read once and kept in the cache for a short while. Any write to one of
them forgets the agency's entry at once; the entry carries a generation that every assistant entry's
key includes, so forgetting it makes the agency's assistant entries unreachable too. The secret stays
encrypted in the cache, as it is in the database.

Each process also keeps the entries it read in memory, trusted only while the cache still holds the same
generation under a small key of its own: a warm tool call then costs one short GET for the whole setup,
and an invalidation (or a cache that is down, whose GET answers nothing) sends it back to the cache or the
database at once.

A request for an agency this process remembers need not even wait for that GET alone: it may start on the memory
copy unconfirmed (`agency_auth_remembered`) with a `Confirmation` owed, which rides along with the request's first
cache read (an availability answer's slots MGET, voice.live.slots), or is made by the INSERT of a message stored for
the background (AgencyAuth.unchanged: the agency's Vapi account as the copy read it, which a rotated secret
changes), or is made alone (one GET) before anything acts: no GHL call, no write, no record, no answer leaves the
process unconfirmed. A generation that moved (or a cache that answers nothing) raises SetupStale: the memory copy is
dropped and the request starts again from the top on the confirmed path (`agency_auth`). A rotated secret thus never
answers one more request: its rotation forgets the generation (agency_live_forget), so the request it authenticated
is refused on the confirmed path.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from integrations.crypto import decrypt, encrypt
from integrations.ghl.selectors import ghl_location_for_client
from integrations.ghl.signals import connection_changed
from integrations.stored import StoredIf
from integrations.vapi.auth import presented_secret_matches, secret_digest, signature_matches
from integrations.vapi.messages import assistant_references
from tenants.models import Agency, CallStart, ClientAccount
from voice.assistants.selectors import assistant_for_references
from voice.models import Assistant, AssistantCalendar, PhoneNumber, VapiAccount

# Bounds how long a cache write that raced an invalidation can keep an old value.
TTL_SECONDS = 60


@dataclass(frozen=True)
class AgencyAuth:
    agency: Agency
    secret_digest: bytes  # SHA-256 of the webhook secret: enough for X-Vapi-Secret and Bearer
    secret_token: str  # the webhook secret, Fernet-encrypted like in the database: HMAC signatures need it
    generation: str
    # The Vapi account's updated_at as read (every save of it sets it): what `unchanged` asks of a store.
    account_updated_at: datetime | None = None

    def unchanged(self) -> StoredIf | None:
        """The condition a store made on this copy, unconfirmed, carries instead of confirming first: the agency's
        Vapi account as this copy read it (a rotated secret saves it). None for a copy read without it."""
        if self.account_updated_at is None:
            return None
        return StoredIf(VapiAccount, {"agency_id": self.agency.pk, "updated_at": self.account_updated_at})

    def authenticates(self, *, headers, body: bytes) -> bool:
        if not self.secret_token:
            return False
        if presented_secret_matches(headers=headers, digest=self.secret_digest):
            return True
        # Decrypted only for a signed request: the common forms are checked against the digest alone.
        return bool(headers.get("X-Signature")) and signature_matches(
            headers=headers, body=body, secret=decrypt(self.secret_token)
        )


@dataclass(frozen=True)
class AssistantSetup:
    assistant_id: int
    client_id: int
    time_zone: str
    minutes: int
    calendars: tuple[tuple[str, str], ...]  # (GHL calendar id, spoken name), in the assistant's order
    ghl_connected: bool  # a GHL connection that answers (not disconnected, not waiting for a reconnect)
    location_id: str
    business_hours: dict | None = None  # {"mon": {"open": "09:00", "close": "17:00"}, "sun": None, ...}
    call_start: str = CallStart.CALLER_CONTEXT  # the client's choice; FASTEST_PICKUP: context in the first tool answer


class SetupStale(Exception):
    """This process's memory copy of an agency's auth and setups is not the cache's generation (or the cache did
    not answer): nothing was done with it, and the request starts again on the confirmed path."""


@dataclass(eq=False, slots=True)  # one per request, compared by identity
class Confirmation:
    """The check a request owes before acting on this process's memory copy of an agency's auth and setups: that
    the cache still holds the copy's generation. One per request; `done` once made (a confirmed path's is done
    from the start). `keys` and `settle` let a cache read the request makes anyway carry it (voice.live.slots);
    `now` makes it alone, one GET. Either raises SetupStale when the generation is not the copy's."""

    key: str = ""
    generation: str = ""
    done: bool = True

    def keys(self) -> list[str]:
        return [] if self.done else [self.key]

    def settle(self, values: dict) -> None:
        """Settles the check from a read that included `keys()` (their values; a key missing is a miss)."""
        if self.done:
            return
        if values.get(self.key) != self.generation:
            raise SetupStale(self.key)
        self.done = True

    def now(self) -> None:
        if not self.done:
            self.settle({self.key: cache.get(self.key)})


# The confirmation of a request on the confirmed path (agency_auth): made already, never changed.
CONFIRMED = Confirmation()


def _auth_key(public_id) -> str:
    return f"vapi:live:{public_id}"


def _generation_key(public_id) -> str:
    return f"vapi:live:{public_id}:generation"


# This process's copies of cached auth and setups, valid while their generation is the cache's (above).
MEMORY_ENTRIES = 2048
_memory: dict = {}


def _remember(key, value) -> None:
    if len(_memory) >= MEMORY_ENTRIES:  # a crude bound: a full memory starts again from the cache
        _memory.clear()
    _memory[key] = value


def agency_auth_remembered(*, public_id: UUID) -> tuple[AgencyAuth, Confirmation] | None:
    """This process's memory copy of the agency's auth, unconfirmed, with the Confirmation the request owes before
    it acts on it (module docstring); None when this process remembers nothing of the agency. No I/O."""
    known = _memory.get(_auth_key(public_id))
    if known is None:
        return None
    return known, Confirmation(key=_generation_key(public_id), generation=known.generation, done=False)


def agency_auth_drop(*, public_id: UUID) -> None:
    """Forgets this process's memory copy of the agency's auth (its setups, kept under its generation, become
    unreachable with it): after SetupStale, the confirmed path reads the cache or the database."""
    _memory.pop(_auth_key(public_id), None)


def agency_auth(*, public_id: UUID) -> AgencyAuth | None:
    """The agency a server-URL request names and its Vapi secret; None for an unknown agency."""
    key = _auth_key(public_id)
    known = _memory.get(key)
    if known is not None and cache.get(_generation_key(public_id)) == known.generation:
        return known
    auth = cache.get(key)
    if auth is not None:
        _remember(key, auth)
        return auth
    agency = Agency.objects.filter(public_id=public_id).first()
    if agency is None:
        return None
    account = VapiAccount.objects.filter(agency=agency).first()
    secret = account.webhook_secret if account else ""
    auth = AgencyAuth(
        agency=agency,
        secret_digest=secret_digest(secret) if secret else b"",
        secret_token=encrypt(secret) if secret else "",
        generation=uuid.uuid4().hex,
        account_updated_at=account.updated_at if account else None,
    )
    # One expiry for both: the in-memory copy never outlives the cache entry it was checked against.
    cache.set_many({key: auth, _generation_key(public_id): auth.generation}, timeout=TTL_SECONDS)
    _remember(key, auth)
    return auth


def assistant_setup_build(assistant: Assistant) -> AssistantSetup:
    location = ghl_location_for_client(client_id=assistant.client_id)
    return AssistantSetup(
        assistant_id=assistant.pk,
        client_id=assistant.client_id,
        time_zone=assistant.time_zone or assistant.client.time_zone,
        minutes=assistant.appointment_minutes,
        calendars=tuple(assistant.calendars.values_list("calendar_id", "spoken_name")),
        ghl_connected=location is not None and location.is_connected,
        location_id=location.location_id if location else "",
        business_hours=assistant.business_hours,
        call_start=assistant.client.call_start,
    )


def assistant_setup(
    *, auth: AgencyAuth, message: dict, confirmation: Confirmation = CONFIRMED
) -> AssistantSetup | None:
    """The setup of the agency's assistant the message is about (by Vapi id, else our metadata); None if none.
    This process's copy is taken under an unconfirmed `auth` too (what acts on it confirms first); anything
    more (the cache, the database) only once the `confirmation` is made."""
    references = assistant_references(message)
    if not references:
        return None
    key = _setup_key(auth, references)
    setup = _memory.get(key)
    if setup is not None:
        return setup
    confirmation.now()
    # The generation is now checked against the cache: a copy under it is current.
    setup = _known(key)
    if setup is not None:
        return setup
    assistant = assistant_for_references(agency=auth.agency, references=references)
    if assistant is None:
        return None
    setup = assistant_setup_build(assistant)
    cache.set(key, setup, timeout=TTL_SECONDS)
    _remember(key, setup)
    return setup


def _setup_key(auth: AgencyAuth, references: list[str], kind: str = "") -> str:
    # Hashed: the references come from the message, the key must stay short and plain.
    digest = hashlib.sha256(repr(references).encode()).hexdigest()[:32]
    return f"{_auth_key(auth.agency.public_id)}:{auth.generation}:{kind}{digest}"


def _known(key: str):
    """What this process or the cache keeps under `key` (a cached copy is kept in memory too); None if neither."""
    value = _memory.get(key)
    if value is None:
        value = cache.get(key)
        if value is not None:
            _remember(key, value)
    return value


def number_setup_known(*, auth: AgencyAuth, references: list[str]) -> tuple[str, AssistantSetup] | None:
    """(Vapi assistant id, setup) of the number's assistant as cached under the agency's current generation
    (any write to a number, an assistant or its client forgets it), from memory or the cache; None if not."""
    return _known(_setup_key(auth, references, "number:"))


def number_setup_keep(*, auth: AgencyAuth, references: list[str], known: tuple[str, AssistantSetup]) -> None:
    key = _setup_key(auth, references, "number:")
    cache.set(key, known, timeout=TTL_SECONDS)
    _remember(key, known)


# The number -> assistant answer is a fallback for a database outage, refreshed by every assistant-request.
NUMBER_TTL_SECONDS = 24 * 3600


def _number_key(agency_id: int, reference: str) -> str:
    return f"vapi:number:{agency_id}:{hashlib.sha256(reference.encode()).hexdigest()[:32]}"


def number_assistant_remember(
    *, agency_id: int, references: list[str], vapi_id: str, setup: AssistantSetup | None = None
) -> None:
    """Keeps which Vapi assistant answers a phone number (by its Vapi id and its number), with its setup
    so the caller context (date, hours, a cached caller) can still be given while the database is down."""
    cache.set_many({_number_key(agency_id, ref): (vapi_id, setup) for ref in references}, timeout=NUMBER_TTL_SECONDS)


def number_assistant_recall(*, agency_id: int, references: list[str]) -> tuple[str, AssistantSetup | None]:
    """The Vapi assistant id and setup last seen for the number, ('', None) when not cached."""
    found = next(iter(cache.get_many([_number_key(agency_id, ref) for ref in references]).values()), ("", None))
    # Entries written before the setup was kept hold the id alone; they expire within NUMBER_TTL_SECONDS.
    return (found, None) if isinstance(found, str) else found


def _phone_number_changed(sender, instance, **kwargs):
    references = [ref for ref in (instance.vapi_id, instance.number) if ref]
    cache.delete_many([_number_key(instance.agency_id, ref) for ref in references])
    agency_live_forget(agency_id=instance.agency_id)  # the numbers' answers kept under the generation


def agency_live_forget(*, agency_id: int | None) -> None:
    """Drops the agency's cached auth and assistant setups, now and again once the write is committed
    (so a request that read the old rows before the commit cannot leave them cached)."""
    public_id = Agency.objects.filter(pk=agency_id).values_list("public_id", flat=True).first() if agency_id else None
    if public_id is None:
        return
    keys = _auth_keys(public_id)
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


def agency_auth_forget(*, public_id: UUID) -> None:
    """Drops the agency's cached auth (its setups with its generation), in this process and in the cache: for a
    copy found stale by the database itself (AgencyAuth.unchanged), whose write the cache's forget missed."""
    agency_auth_drop(public_id=public_id)
    cache.delete_many(_auth_keys(public_id))


def _auth_keys(public_id) -> list[str]:
    """The agency's cached auth and its generation (which the setups' keys include): what forgetting it deletes."""
    return [_auth_key(public_id), _generation_key(public_id)]


def _agency_forget(sender, instance, **kwargs):
    cache.delete_many(_auth_keys(instance.public_id))


def _vapi_account_changed(sender, instance, **kwargs):
    agency_live_forget(agency_id=instance.agency_id)


def _client_changed(sender, instance, **kwargs):
    agency_live_forget(agency_id=instance.agency_id)


def _client_part_changed(sender, instance, **kwargs):
    agency_id = ClientAccount.objects.filter(pk=instance.client_id).values_list("agency_id", flat=True).first()
    agency_live_forget(agency_id=agency_id)


def _ghl_connection_changed(sender, client_id, **kwargs):
    agency_id = ClientAccount.objects.filter(pk=client_id).values_list("agency_id", flat=True).first()
    agency_live_forget(agency_id=agency_id)


def _calendar_changed(sender, instance, **kwargs):
    agency_id = Assistant.objects.filter(pk=instance.assistant_id).values_list("client__agency_id", flat=True).first()
    agency_live_forget(agency_id=agency_id)


def receivers_connect() -> None:
    """Every write that changes what a live call sees forgets the agency's cached setup (AppConfig.ready)."""
    receivers = [
        (Agency, _agency_forget),
        (VapiAccount, _vapi_account_changed),
        (ClientAccount, _client_changed),
        (Assistant, _client_part_changed),
        (AssistantCalendar, _calendar_changed),
    ]
    for signal_name, signal in (("save", post_save), ("delete", post_delete)):
        for model, receiver in receivers:
            signal.connect(receiver, sender=model, dispatch_uid=f"live_setup_{model.__name__}_{signal_name}")
    connection_changed.connect(_ghl_connection_changed, dispatch_uid="live_setup_ghl_connection")
    for signal_name, signal in (("save", post_save), ("delete", post_delete)):
        signal.connect(_phone_number_changed, sender=PhoneNumber, dispatch_uid=f"live_setup_number_{signal_name}")
