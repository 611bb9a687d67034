import re

from django import forms

from voice.models import WriteBackSettings

# GHL stores tags lower-cased; letters, digits, spaces and - _ : / keep them readable in its filters.
TAG_SHAPE = re.compile(r"^[\w .:/-]{1,100}$")
KEY_SHAPE = re.compile(r"^[\w.-]{1,100}$")
EXTRA_ROWS = 2
NOT_WRITTEN = ("", "— not written —")


class WriteBackSettingsForm(forms.ModelForm):
    class Meta:
        model = WriteBackSettings
        fields = ["enabled", "booked_tag", "no_booking_tag", "transferred_tag", "failed_tag"]
        labels = {
            "enabled": "After each call, tag the caller's contact and write the call's answers to it",
            "booked_tag": "Tag when the assistant booked",
            "no_booking_tag": "Tag when nothing was booked",
            "transferred_tag": "Tag when the call was transferred",
            "failed_tag": "Tag when the call failed",
        }
        help_texts = {"booked_tag": "Added to the contact's tags (never replacing them). Empty: no tag."}

    def _clean_tag(self, name: str) -> str:
        tag = " ".join(self.cleaned_data[name].split()).lower()
        if tag and not TAG_SHAPE.match(tag):
            raise forms.ValidationError("Use letters, digits, spaces and - _ : / only.")
        return tag

    def clean_booked_tag(self):
        return self._clean_tag("booked_tag")

    def clean_no_booking_tag(self):
        return self._clean_tag("no_booking_tag")

    def clean_transferred_tag(self):
        return self._clean_tag("transferred_tag")

    def clean_failed_tag(self):
        return self._clean_tag("failed_tag")


class FieldMappingForm(forms.Form):
    """One row per structured-data key (those recent calls answered, those mapped, and empty rows for new
    keys), each with the GHL contact field it is written into."""

    def __init__(self, *args, keys: list[str], custom_fields: list[dict], mapping: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_fields = {field["id"]: field for field in custom_fields}
        choices = [NOT_WRITTEN, *((field["id"], field["name"]) for field in custom_fields)]
        rows = [*dict.fromkeys([*mapping, *keys]), *[""] * EXTRA_ROWS]
        self.rows = []
        for index, key in enumerate(rows):
            self.fields[f"key_{index}"] = forms.CharField(
                required=False, initial=key, max_length=100, label="Structured-data key"
            )
            self.fields[f"field_{index}"] = forms.ChoiceField(
                required=False,
                choices=choices,
                initial=(mapping.get(key) or {}).get("id", ""),
                label="GoHighLevel contact field",
            )
            self.rows.append((self[f"key_{index}"], self[f"field_{index}"]))

    def clean(self):
        mapping = {}
        for index in range(len(self.rows)):
            key = (self.cleaned_data.get(f"key_{index}") or "").strip()
            field_id = self.cleaned_data.get(f"field_{index}") or ""
            if not key or not field_id:
                continue
            if not KEY_SHAPE.match(key):
                self.add_error(f"key_{index}", "Keys are letters, digits and - _ . as the assistant names them.")
            elif key in mapping:
                self.add_error(f"key_{index}", f"“{key}” is mapped twice.")
            else:
                mapping[key] = {"id": field_id, "name": self.custom_fields[field_id]["name"]}
        self.cleaned_data["mapping"] = mapping
        return self.cleaned_data
