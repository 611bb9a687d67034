"""The scale bench seeds calls in SQL; a column added to a model must be added to its INSERT too."""

import re

import pytest

from tests.bench import seed
from voice.models import Booking, Call, ToolCallRecord


def _inserted_columns(sql: str) -> set[str]:
    """The column list of `INSERT INTO table (a, b, "c") SELECT ...`."""
    listed = re.search(r"INSERT INTO \w+ \((.*?)\)\s*SELECT", sql, re.DOTALL).group(1)
    return {column.strip().strip('"') for column in listed.split(",")}


@pytest.mark.parametrize(
    ("model", "sql"),
    [(Call, seed.CALLS_SQL), (Booking, seed.BOOKINGS_SQL), (ToolCallRecord, seed.TOOL_CALLS_SQL)],
    ids=["calls", "bookings", "tool calls"],
)
def test_the_bench_seed_fills_every_required_column(model, sql):
    required = {
        field.column
        for field in model._meta.concrete_fields
        if not field.primary_key and not field.null and not field.has_db_default()
    }
    assert required - _inserted_columns(sql) == set()
