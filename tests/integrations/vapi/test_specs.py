"""Validation against Vapi's spec: good payloads pass, Vapi's refusals are reported, the spec's defects are fixed."""

import copy
import json

import pytest
from jsonschema import Draft7Validator

from integrations.vapi import specs
from tests.integrations.vapi.payloads import ASSISTANT, CHECK_AVAILABILITY


def raw_spec() -> dict:
    return json.loads(specs.specs_path().read_text())


def raw_errors(*, schema_name: str, instance) -> list:
    """Validation against the spec exactly as published, to prove each workaround is needed."""
    spec = raw_spec()
    spec["$ref"] = f"#/components/schemas/{schema_name}"
    return list(Draft7Validator(spec).iter_errors(instance))


def test_a_complete_assistant_with_an_inline_function_tool_is_valid():
    assert specs.validation_errors(schema_name="CreateAssistantDTO", instance=ASSISTANT, strict=True) == []
    assert specs.validation_errors(schema_name="UpdateAssistantDTO", instance=ASSISTANT, strict=True) == []
    assert specs.validation_errors(schema_name="CreateFunctionToolDTO", instance=CHECK_AVAILABILITY, strict=True) == []


def test_unknown_properties_are_reported_in_vapis_words_with_their_path():
    payload = copy.deepcopy(ASSISTANT)
    payload["silenceTimeoutSeconds"] = 30
    payload["model"]["systemPrompt"] = "legacy"
    payload["model"]["tools"][0]["function"]["colour"] = "blue"

    errors = specs.validation_errors(schema_name="CreateAssistantDTO", instance=payload, strict=True)

    assert "property silenceTimeoutSeconds should not exist" in errors
    assert "model.property systemPrompt should not exist" in errors
    assert "model.tools.0.function.property colour should not exist" in errors
    assert specs.validation_errors(schema_name="CreateAssistantDTO", instance=payload) == []


@pytest.mark.parametrize("read_only", specs.READ_ONLY_PROPERTIES)
def test_read_only_properties_must_never_be_sent(read_only):
    payload = {**ASSISTANT, read_only: "2030-01-01T00:00:00.000Z"}

    errors = specs.validation_errors(schema_name="UpdateAssistantDTO", instance=payload, strict=True)

    assert errors == [f"property {read_only} should not exist"]
    assert specs.read_only_properties_in(payload) == [read_only]


def test_schema_errors_name_the_field_and_the_chosen_provider_branch():
    payload = {**ASSISTANT, "name": "x" * 41, "voice": {"provider": "11labs"}}

    errors = specs.validation_errors(schema_name="CreateAssistantDTO", instance=payload)

    assert f"name: '{'x' * 41}' is too long" in errors
    assert "voice: 'voiceId' is a required property" in errors


def test_overlapping_one_of_branches_are_accepted():
    voice = {"provider": "11labs", "voiceId": "sarah"}
    assert raw_errors(schema_name="ElevenLabsVoice", instance=voice)
    assert specs.validation_errors(schema_name="ElevenLabsVoice", instance=voice) == []


def test_an_enum_on_an_array_checks_the_items_not_the_array():
    assistant = {"serverMessages": ["tool-calls", "end-of-call-report"]}
    assert raw_errors(schema_name="CreateAssistantDTO", instance=assistant)
    assert specs.validation_errors(schema_name="CreateAssistantDTO", instance=assistant) == []

    errors = specs.validation_errors(schema_name="CreateAssistantDTO", instance={"serverMessages": ["tea-break"]})
    assert len(errors) == 1
    assert errors[0].startswith("serverMessages.0: 'tea-break' is not one of ['assistant.started'")


def test_a_backoff_plan_type_is_a_string_as_its_example_says():
    server = {
        "url": "https://hub.example.com/x/",
        "backoffPlan": {"type": "exponential", "maxRetries": 6, "baseDelaySeconds": 1},
    }
    assert raw_errors(schema_name="Server", instance=server)
    assert specs.validation_errors(schema_name="Server", instance=server) == []
    wrong = {**server, "backoffPlan": {"type": "linear", "maxRetries": 6, "baseDelaySeconds": 1}}
    assert specs.validation_errors(schema_name="Server", instance=wrong)


def test_javascript_regex_literals_are_applied_as_regexes():
    function = {"name": "book_appointment", "parameters": {"type": "object", "properties": {}}}
    assert raw_errors(schema_name="OpenAIFunction", instance=function)
    assert specs.validation_errors(schema_name="OpenAIFunction", instance=function) == []

    errors = specs.validation_errors(schema_name="OpenAIFunction", instance={**function, "name": "book appointment"})
    assert errors == ["name: 'book appointment' does not match '^[a-zA-Z0-9_-]{1,64}$'"]


def test_tool_call_arguments_may_be_an_object_as_real_traffic_sends_them():
    tool_call = {"name": "check_availability", "arguments": {"date": "2030-03-04"}}
    assert raw_errors(schema_name="ToolCallFunction", instance=tool_call)
    assert specs.validation_errors(schema_name="ToolCallFunction", instance=tool_call) == []
    assert (
        specs.validation_errors(schema_name="ToolCallFunction", instance={**tool_call, "arguments": '{"a": 1}'}) == []
    )


def test_a_tool_calls_server_message_validates():
    message = {
        "type": "tool-calls",
        "toolCallList": [
            {"id": "call_1", "type": "function", "function": {"name": "check_availability", "arguments": {"d": 1}}}
        ],
        "toolWithToolCallList": [],
    }
    assert specs.validation_errors(schema_name="ServerMessageToolCalls", instance=message) == []


def test_the_spec_location_can_be_overridden(monkeypatch, tmp_path):
    spec = raw_spec()
    spec["components"]["schemas"]["CreateAssistantDTO"]["properties"]["name"]["maxLength"] = 5
    (tmp_path / "openapi.json").write_text(json.dumps(spec))
    monkeypatch.setenv("VAPI_SPECS_DIR", str(tmp_path))

    errors = specs.validation_errors(schema_name="CreateAssistantDTO", instance={"name": "Lakeside"})

    assert errors == ["name: 'Lakeside' is too long"]
