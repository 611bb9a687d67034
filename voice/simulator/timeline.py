"""The turns of a simulated call as Vapi records them in `artifact.messages` and the OpenAI-format list."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass
class Timeline:
    """The conversation as Vapi records it: every turn with its epoch-ms time and seconds from the start."""

    started: datetime
    seconds: float = 0.0
    messages: list[dict] = field(default_factory=list)
    openai: list[dict] = field(default_factory=list)

    def at(self) -> datetime:
        return self.started + timedelta(seconds=self.seconds)

    def _ms(self) -> int:
        return int(self.at().timestamp() * 1000)

    def system(self, prompt: str) -> None:
        self.messages.append({"role": "system", "message": prompt, "time": self._ms(), "secondsFromStart": 0})
        self.openai.append({"role": "system", "content": prompt})

    def say(self, role: str, text: str) -> None:
        """`role` is "bot" or "user"; a turn lasts as long as it takes to say it, plus a pause."""
        length = round(0.8 + len(text.split()) * 0.35, 2)
        start = self._ms()
        self.messages.append(
            {
                "role": role,
                "message": text,
                "time": start,
                "endTime": start + int(length * 1000),
                "secondsFromStart": round(self.seconds, 2),
                "duration": int(length * 1000),
            }
        )
        self.openai.append({"role": "assistant" if role == "bot" else "user", "content": text})
        self.seconds += length + 0.6

    def tool_call(self, tool_call: dict) -> None:
        self.messages.append(
            {
                "role": "tool_calls",
                "toolCalls": [tool_call],
                "message": "",
                "time": self._ms(),
                "secondsFromStart": round(self.seconds, 2),
            }
        )
        self.openai.append({"role": "assistant", "content": ""})

    def tool_result(self, tool_call: dict, result: str) -> None:
        self.seconds += 0.9
        self.messages.append(
            {
                "role": "tool_call_result",
                "toolCallId": tool_call["id"],
                "name": tool_call["function"]["name"],
                "result": result,
                "time": self._ms(),
                "secondsFromStart": round(self.seconds, 2),
            }
        )
        self.openai.append({"role": "tool", "content": result})

    def transcript(self) -> str:
        speaker = {"bot": "AI", "user": "User"}
        return "\n".join(f"{speaker[m['role']]}: {m['message']}" for m in self.messages if m["role"] in speaker)


def iso_moment(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
