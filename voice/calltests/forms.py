from django import forms

from voice.models import OutcomeKind

EXPECTED_CHOICES = [(kind.value, f"Should have: {kind.label.lower()}") for kind in OutcomeKind]


class CallTestForm(forms.Form):
    """A test's name and, per step, the outcome it should have (by default what the call got)."""

    name = forms.CharField(max_length=120, required=False)

    def __init__(self, *args, steps: list[dict], **kwargs):
        """`steps`: one dict per tool call with `position`, `expected` (the initial choice) and what the page shows."""
        super().__init__(*args, **kwargs)
        self.steps = steps
        for step in steps:
            self.fields[f"expected_{step['position']}"] = forms.ChoiceField(
                choices=EXPECTED_CHOICES, initial=step["expected"], label=f"Step {step['position'] + 1}"
            )

    def step_rows(self) -> list[tuple[dict, forms.BoundField]]:
        return [(step, self[f"expected_{step['position']}"]) for step in self.steps]

    def expected(self) -> dict[int, str]:
        return {step["position"]: self.cleaned_data[f"expected_{step['position']}"] for step in self.steps}
