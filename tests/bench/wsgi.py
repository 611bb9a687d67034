"""gunicorn entry for tests/bench/ingest.py: the project's WSGI app, served with the bench URLconf."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agencyhub.settings")
application = get_wsgi_application()
# Set before the first request, so the resolver is only ever built from the bench URLconf.
settings.ROOT_URLCONF = "tests.bench.urls"
