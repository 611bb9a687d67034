"""gunicorn for AgencyHub's web processes: `gunicorn -c gunicorn.conf.py agencyhub.wsgi` (docs/deploy.md)."""

import os

# Where to listen; behind a proxy usually 127.0.0.1:8000 or a unix socket (unix:/run/agencyhub.sock).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
# Sync workers, gunicorn's advice of (2 x cores) + 1; WEB_CONCURRENCY overrides it, as on most platforms.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * os.cpu_count() + 1))
# A live tool call must answer within Vapi's budget; a request that runs 30 s is stuck, not busy.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak never becomes an outage; the jitter keeps them from all restarting.
max_requests = 2000
max_requests_jitter = 200
# Proxy headers (X-Forwarded-Proto) are trusted only from these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = "-"
errorlog = "-"
# Client, request line, status, bytes, milliseconds, and the request id the app logs with (X-Request-ID).
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms req=%({x-request-id}o)s ua="%(a)s"'
