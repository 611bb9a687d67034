import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from agencyhub.celery import publishing_loaded

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agencyhub.settings")
application = get_wsgi_application()
# The URLconf (and with it every view module) is imported now, in gunicorn's master (gunicorn.conf.py preloads the
# app), rather than by each worker's first request.
import_module(settings.ROOT_URLCONF)
# So is what publishing a task needs (agencyhub.celery.publishing_loaded), which a worker's first kick of the inbox
# would load while its caller waits.
publishing_loaded()
