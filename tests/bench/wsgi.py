"""gunicorn entry for the served benches (live.py, ingest.py): the project's WSGI app, with the bench URLconf."""

import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agencyhub.settings")
application = get_wsgi_application()
# Set before the first request, so the resolver is only ever built from the bench URLconf.
settings.ROOT_URLCONF = "tests.bench.urls"
# Imported before gunicorn forks its workers, as agencyhub/wsgi.py does.
import_module(settings.ROOT_URLCONF)
