"""A PostgreSQL that does not answer is given up on (agencyhub.postgresql): inside `database_patience` a query
that waits past the limit fails as an unreachable database does, later queries of that request fail at once
instead of waiting again, and the next request gets a fresh connection. A real server kept busy by pg_sleep
stands in for one that hangs."""

import pytest
from django.db import OperationalError, connection

from agencyhub.postgresql import database_patience

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("bounded waits are the PostgreSQL backend's")
    assert connection.settings_dict["ENGINE"] == "agencyhub.postgresql"
    yield connection
    connection.close()


def _select(sql: str):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()


def test_a_query_that_waits_past_the_patience_fails_and_the_rest_of_the_request_does_not_wait(postgres):
    with database_patience(0.5):
        assert _select("SELECT 1") == (1,)  # a database that answers is not affected
        with pytest.raises(OperationalError, match=r"did not answer within 0\.5 s"):
            _select("SELECT pg_sleep(5)")
        # The connection that never answered is closed: the next query fails without waiting on it.
        with pytest.raises(OperationalError, match=r"connection is closed|did not answer earlier"):
            _select("SELECT 1")
    # The next request (Django closes a connection that failed) connects again and is answered.
    connection.close_if_unusable_or_obsolete()
    assert _select("SELECT 2") == (2,)


def test_outside_the_live_path_a_slow_query_is_waited_for(postgres, settings):
    settings.DATABASE_QUERY_TIMEOUT = 5
    assert _select("SELECT 3 FROM pg_sleep(1)") == (3,)
