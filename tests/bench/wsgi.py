"""gunicorn entry for the served benches (live.py, ingest.py): the project's WSGI app (agencyhub/wsgi.py, with what it
loads before serving), with the bench URLconf."""

from importlib import import_module

from django.conf import settings

from agencyhub.wsgi import application

# Set before the first request, so the resolver is only ever built from the bench URLconf.
settings.ROOT_URLCONF = "tests.bench.urls"
import_module(settings.ROOT_URLCONF)

__all__ = ["application"]
