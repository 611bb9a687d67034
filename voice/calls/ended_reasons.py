"""Vapi's `endedReason` values (the spec's enum on end-of-call reports), read for people and for outcomes."""

from voice.models import CallOutcome

# The assistant handed the caller to a person (a forward, or a hook that transferred).
TRANSFERRED = frozenset(
    {
        "assistant-forwarded-call",
        "assistant-request-returned-forwarding-phone-number",
        "call.ringing.hook-executed-transfer",
        "call.ending.hook-executed-transfer",
    }
)
# Reasons that are Vapi's or a provider's failure although they name no error.
FAILED = frozenset(
    {
        "assistant-not-found",
        "assistant-not-valid",
        "assistant-join-timed-out",
        "assistant-request-returned-invalid-assistant",
        "assistant-request-returned-no-assistant",
        "assistant-request-returned-unspeakable-error",
        "call-start-error-neither-assistant-nor-server-set",
        "phone-call-provider-closed-websocket",
        "vonage-rejected",
        "worker-shutdown",
    }
)
FAILURE_MARKERS = ("error", "fault", "failed")


def call_outcome(*, ended_reason: str, booked: bool) -> CallOutcome:
    """What the call achieved: a booking counts first, then a transfer, then a failure."""
    if booked:
        return CallOutcome.BOOKED
    if ended_reason in TRANSFERRED:
        return CallOutcome.TRANSFERRED
    if ended_reason in FAILED or any(marker in ended_reason for marker in FAILURE_MARKERS):
        return CallOutcome.FAILED
    return CallOutcome.NO_BOOKING


# The reasons people meet most often, each said in its own words.
EXPLAINED = {
    "customer-ended-call": "The caller hung up.",
    "customer-ended-call-after-warm-transfer-attempt": (
        "The caller hung up after the assistant tried to hand them to a person."
    ),
    "customer-ended-call-before-warm-transfer": "The caller hung up before the transfer to a person went through.",
    "customer-ended-call-during-transfer": "The caller hung up while being transferred to a person.",
    "customer-busy": "The number called was busy.",
    "customer-did-not-answer": "Nobody answered the call.",
    "customer-did-not-give-microphone-permission": (
        "The caller's browser did not allow the microphone, so nothing could be heard."
    ),
    "assistant-ended-call": "The assistant ended the call.",
    "assistant-ended-call-after-message-spoken": "The assistant said its closing message and hung up.",
    "assistant-ended-call-with-hangup-task": (
        "The assistant hung up, as its instructions say to when the conversation is done."
    ),
    "assistant-said-end-call-phrase": "The assistant said goodbye (one of its end-call phrases) and hung up.",
    "assistant-forwarded-call": "The assistant transferred the caller to a person.",
    "assistant-join-timed-out": "The assistant did not join the call in time.",
    "assistant-not-found": "The assistant set up for this number no longer exists in Vapi.",
    "assistant-not-valid": "Vapi rejected the assistant's settings, so the call could not go ahead.",
    "assistant-request-failed": "Vapi could not reach AgencyHub to find the assistant for this number.",
    "assistant-request-returned-error": "Looking up the assistant for this number failed, so the call could not start.",
    "assistant-request-returned-forwarding-phone-number": (
        "The call was forwarded straight to a phone number instead of an assistant."
    ),
    "assistant-request-returned-invalid-assistant": (
        "The assistant found for this number had settings Vapi could not use."
    ),
    "assistant-request-returned-no-assistant": "No assistant is assigned to the number that was called.",
    "assistant-request-returned-unspeakable-error": (
        "Looking up the assistant failed with an error that could not be read to the caller."
    ),
    "silence-timed-out": "The line stayed silent for too long, so the call was ended.",
    "exceeded-max-duration": "The call reached the longest length allowed and was ended.",
    "voicemail": "The call reached a voicemail box.",
    "manually-canceled": "Someone cancelled the call by hand.",
    "call-deleted": "The call was deleted.",
    "scheduled-call-deleted": "The scheduled call was deleted before it started.",
    "call-start-error-neither-assistant-nor-server-set": (
        "The number has neither an assistant nor a server URL, so the call could not start."
    ),
    "phone-call-provider-closed-websocket": "The phone provider closed the audio connection.",
    "phone-call-provider-bypass-enabled-but-no-call-received": "The phone provider never handed the call over to Vapi.",
    "twilio-failed-to-connect-call": "Twilio could not connect the call.",
    "twilio-reported-customer-misdialed": "Twilio reported that the number was misdialed.",
    "vonage-completed": "Vonage reported the call as completed.",
    "vonage-disconnected": "Vonage disconnected the call.",
    "vonage-failed-to-connect-call": "Vonage could not connect the call.",
    "vonage-rejected": "Vonage rejected the call.",
    "worker-shutdown": "Vapi restarted the server that was handling the call, which cut it off.",
    "call.forwarding.operator-busy": "The person the call was transferred to was busy.",
    "call.forwarding.no-answer": "The person the call was transferred to did not answer.",
    "call.ringing.hook-executed-say": "A rule set to run while ringing played a message and ended the call.",
    "call.ringing.hook-executed-transfer": "A rule set to run while ringing transferred the call.",
    "call.ending.hook-executed-say": "A rule set to run at the end of the call played a closing message.",
    "call.ending.hook-executed-transfer": "A rule set to run at the end of the call transferred the caller.",
    "call.ringing.sip-inbound-caller-hungup-before-call-connect": "The caller hung up before the call connected.",
    "call.in-progress.twilio-completed-call": "Twilio ended the call as completed.",
    "call.in-progress.sip-completed-call": "The SIP phone line ended the call as completed.",
    "call.in-progress.error-transfer-failed": "The transfer to a person failed.",
    "call.in-progress.error-assistant-did-not-receive-customer-audio": (
        "The assistant never received the caller's audio."
    ),
    "call.in-progress.error-pipeline-no-available-llm-model": "No language model was available to answer the caller.",
    "call.in-progress.error-pipeline-ws-model-connection-failed": "The connection to the language model failed.",
}

# Provider slugs as Vapi writes them, each with its name and what it does when the reason does not say.
PROVIDERS = {
    "anthropic-bedrock": ("Anthropic on Bedrock", "language model"),
    "anthropic-vertex": ("Anthropic on Vertex", "language model"),
    "azure-openai": ("Azure OpenAI", "language model"),
    "azure-speech": ("Azure Speech", "speech recognition"),
    "assembly-ai": ("AssemblyAI", "speech recognition"),
    "eleven-labs": ("ElevenLabs", "voice"),
    "inflection-ai": ("Inflection AI", "language model"),
    "perplexity-ai": ("Perplexity", "language model"),
    "together-ai": ("Together AI", "language model"),
    "smallest-ai": ("Smallest AI", "voice"),
    "custom-llm": ("the custom", "language model"),
    "deep-seek": ("DeepSeek", "language model"),
    "rime-ai": ("Rime", "voice"),
    "anthropic": ("Anthropic", "language model"),
    "openai": ("OpenAI", "language model"),
    "google": ("Google", "language model"),
    "xai": ("xAI", "language model"),
    "groq": ("Groq", "language model"),
    "mistral": ("Mistral", "language model"),
    "minimax": ("MiniMax", "language model"),
    "cerebras": ("Cerebras", "language model"),
    "baseten": ("Baseten", "language model"),
    "anyscale": ("Anyscale", "language model"),
    "openrouter": ("OpenRouter", "language model"),
    "deepinfra": ("DeepInfra", "language model"),
    "runpod": ("RunPod", "language model"),
    "vapi": ("Vapi", "language model"),
    "deepgram": ("Deepgram", "speech recognition"),
    "gladia": ("Gladia", "speech recognition"),
    "speechmatics": ("Speechmatics", "speech recognition"),
    "talkscriber": ("Talkscriber", "speech recognition"),
    "soniox": ("Soniox", "speech recognition"),
    "cartesia": ("Cartesia", "voice"),
    "playht": ("PlayHT", "voice"),
    "lmnt": ("LMNT", "voice"),
    "azure": ("Azure", "voice"),
    "neuphonic": ("Neuphonic", "voice"),
    "hume": ("Hume", "voice"),
    "sesame": ("Sesame", "voice"),
    "inworld": ("Inworld", "voice"),
    "wellsaid": ("WellSaid", "voice"),
    "microsoft": ("Microsoft", "voice"),
    "tavus": ("Tavus", "video"),
    "custom": ("the custom", "voice"),
}
STATUS_WORDS = {
    "400": "rejected the request as invalid",
    "401": "rejected the credentials",
    "403": "refused access",
    "404": "could not find what was asked for",
    "407": "asked for proxy authentication",
    "408": "timed out",
    "429": "ran out of quota or hit its rate limit",
    "480": "was temporarily unavailable",
    "500": "had a server error",
    "502": "could not be reached",
    "503": "was unavailable or overloaded",
    "504": "did not answer in time (gateway timeout)",
    "522": "could not be reached",
}
WORDS = {
    "vapi": "Vapi",
    "llm": "language model",
    "sip": "SIP",
    "ws": "websocket",
    "api": "API",
    "json": "JSON",
    "org": "organisation",
    "insufficent": "insufficient",
    "ehostunreach": "host unreachable",
    "econnreset": "connection reset",
    "uri": "URI",
}
ROLE_WORDS = {
    "voice": "voice",
    "video": "video",
    "transcriber": "speech recognition",
    "returning": "speech recognition",
    "llm": "language model",
}
# Words the status sentence already says, so "429-exceeded-quota" is not said twice.
SAID_BY_STATUS = {
    "unauthorized",
    "exceeded",
    "quota",
    "rate",
    "limit",
    "reached",
    "server",
    "overloaded",
    "error",
    "model",
    "access",
    "denied",
    "bad",
    "request",
    "validation",
    "failed",
    "forbidden",
    "service",
    "unavailable",
    "timeout",
    "temporarily",
    "not",
    "found",
    "gateway",
}
STAGES = (
    ("call.in-progress.error-", "during the call"),
    ("call.in-progress.", "during the call"),
    ("call.start.error-", "before the call started"),
    ("call.start.", "before the call started"),
    ("call.ringing.error-", "while the phone was ringing"),
    ("call.ringing.", "while the phone was ringing"),
    ("call.ending.", "as the call ended"),
    ("call.forwarding.", "while transferring the call"),
    ("pipeline-error-", "during the call"),
)


def _words(code: str) -> str:
    return " ".join(WORDS.get(word, word) for word in code.replace(".", "-").split("-") if word)


def _possessive(name: str) -> str:
    if name.startswith("the "):
        return name
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _provider_problem(detail: str) -> str | None:
    """'openai-429-exceeded-quota' -> "OpenAI's language model ran out of quota ..."; None if no provider leads."""
    # Longest slug first, so "azure-openai" wins over "azure".
    slugs = sorted(PROVIDERS, key=len, reverse=True)
    slug = next((s for s in slugs if detail == s or detail.startswith(s + "-")), None)
    if slug is None:
        return None
    name, role = PROVIDERS[slug]
    rest = [word for word in detail[len(slug) + 1 :].split("-") if word]
    if rest and rest[0] in ROLE_WORDS:
        role = ROLE_WORDS[rest[0]]
        # "voice-not-found" keeps its noun; "voice-failed" and "transcriber-auth-failed" lose the code word.
        if rest[0] not in ("voice", "video") or rest[1:2] == ["failed"]:
            rest = rest[1:]
    code = next((word for word in rest if word in STATUS_WORDS), None)
    if code:
        rest.remove(code)
        problem = STATUS_WORDS[code]
        if not set(rest) <= SAID_BY_STATUS:
            problem += f" ({_words('-'.join(rest))})"
    elif rest in ([], ["failed"]):
        problem = "failed"
    else:
        problem = f"failed: {_words('-'.join(rest))}"
    return f"{_possessive(name)} {role} {problem}"


def ended_reason_text(reason: str) -> str:
    """Vapi's endedReason code said in plain words; covers every value of the spec's enum and new ones too."""
    if not reason:
        return "Vapi has not said how the call ended yet."
    if reason in EXPLAINED:
        return EXPLAINED[reason]
    detail, stage = reason, ""
    for prefix, when in STAGES:
        if reason.startswith(prefix):
            detail, stage = reason[len(prefix) :], when
            break
    fault = ""
    if detail.startswith("vapifault-"):
        detail, fault = detail[len("vapifault-") :], " Vapi counts this as a fault on its side."
    elif detail.startswith("providerfault-"):
        detail, fault = detail[len("providerfault-") :], " Vapi counts this as the provider's fault."
    elif detail.startswith("error-"):
        detail = detail[len("error-") :]
    when = f" {stage}" if stage else ""
    if detail.startswith("warm-transfer-"):
        sentence = f"The warm transfer to a person ended early: {_words(detail[len('warm-transfer-') :])}."
    elif "transfer" in detail.split("-"):
        sentence = f"The transfer to a person did not work{when}: {_words(detail)}."
    elif "sip" in detail.split("-"):
        sentence = f"The SIP phone line failed{when}: {_words(detail)}."
    elif detail.startswith("get-"):
        sentence = f"Vapi could not load the {_words(detail[len('get-') :])} for this call, so it could not start."
    elif stage == "before the call started":
        sentence = f"The call could not start: {_words(detail)}."
    elif (problem := _provider_problem(detail)) is not None:
        sentence = f"{stage[0].upper()}{stage[1:]}, {problem}." if stage else f"{problem[0].upper()}{problem[1:]}."
    elif reason.startswith(("customer-", "assistant-")):
        sentence = f"The call ended: the {_words(reason)}."
    elif stage == "during the call":
        sentence = f"The call broke off: {_words(detail)}."
    else:
        sentence = f"The call ended{when}: {_words(detail)}."
    return sentence + fault
