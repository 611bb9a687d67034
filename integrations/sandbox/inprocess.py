"""Requests from the sandbox to this app's own endpoints, through Django itself: no server needed."""

from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


def in_process_app():
    """Django's WSGI handler, for requests made from this thread: like Django's test client, it holds back
    the hooks that close "old" connections, which would close the caller's own connection and transaction."""
    handler = WSGIHandler()

    def app(environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = handler(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)

    return app
