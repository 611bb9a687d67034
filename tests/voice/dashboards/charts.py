"""The chart data a dashboard page embeds for Chart.js, read back by label and day."""

import json
import re


def chart_data(response, chart_id):
    match = re.search(rf'<script id="{chart_id}" type="application/json">(.*?)</script>', response.content.decode())
    assert match, f"no chart data {chart_id} on the page"
    data = json.loads(match.group(1))
    return {d["label"]: dict(zip(data["labels"], d["data"], strict=True)) for d in data["datasets"]}
