import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agencyhub.settings")
application = get_wsgi_application()
# The URLconf (and with it every view module) is imported now, in gunicorn's master (gunicorn.conf.py preloads the
# app), rather than by each worker's first request.
import_module(settings.ROOT_URLCONF)
