"""gunicorn for AgencyHub's web processes: `gunicorn -c gunicorn.conf.py agencyhub.wsgi` (docs/deploy.md)."""

import gc
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
# The app (Django, every module, the URLconf: agencyhub/wsgi.py) is loaded once in the master and each worker is
# forked from it. Loaded in each worker instead, a recycled worker spent ~0.7-1 s of CPU importing it again: under
# load, 5 workers reach max_requests together, and that wave cost a 2-core machine most of a second of serving
# (#12: one slice of warm tool calls fell from ~1,000 to 44 req/s). New code or settings therefore need a restart
# of the master, not a HUP (docs/deploy.md, Upgrading).
preload_app = True

# Proxy headers (X-Forwarded-Proto) are trusted only from these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = "-"
errorlog = "-"
# Client, request line, status, bytes, milliseconds, and the request id the app logs with (X-Request-ID).
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms req=%({x-request-id}o)s ua="%(a)s"'


def when_ready(server):
    # Everything loaded so far is kept out of the collector: a forked worker's collections then never touch (and
    # copy) the pages it shares with the master.
    gc.freeze()
