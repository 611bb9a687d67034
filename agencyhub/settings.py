"""AgencyHub settings: one file, read from the environment through django-environ.

With no environment at all it runs embedded: SQLite, eager Celery, local-memory
cache and the provider sandbox. Production sets DEBUG=False and the URLs below.
"""

import base64
import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import environ

from agencyhub import queues
from agencyhub.beat import BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise SystemExit("SECRET_KEY is required when DEBUG is off: set it in the environment.")

PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS",
    default=[urlsplit(PUBLIC_BASE_URL).hostname, "127.0.0.1", "localhost"],
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[PUBLIC_BASE_URL])

# The provider stand-ins: on by default in development, never silently in production.
SANDBOX = env.bool("SANDBOX", default=DEBUG)

# Platform default GHL Marketplace app, used by agencies that have not entered their own.
GHL_CLIENT_ID = env.str("GHL_CLIENT_ID", default="")
GHL_CLIENT_SECRET = env.str("GHL_CLIENT_SECRET", default="")
# The platform default app's Conversation Provider (type Call); empty: calls become contact notes.
GHL_CONVERSATION_PROVIDER_ID = env.str("GHL_CONVERSATION_PROVIDER_ID", default="")
# GHL webhook public keys (PEM text); empty means the keys GHL publishes, shipped in integrations/ghl/keys/.
GHL_WEBHOOK_ED25519_PUBLIC_KEY = env.str("GHL_WEBHOOK_ED25519_PUBLIC_KEY", default="")
GHL_WEBHOOK_RSA_PUBLIC_KEY = env.str("GHL_WEBHOOK_RSA_PUBLIC_KEY", default="")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "tenants",
    "integrations",
    "integrations.ghl",
    "integrations.sandbox",
    "voice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "agencyhub.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "agencyhub.observability.RequestContextMiddleware",
    # Vapi's POSTs are answered here, without the page middleware below (voice/live/middleware.py).
    "voice.live.middleware.LiveEndpointMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "agencyhub.urls"
WSGI_APPLICATION = "agencyhub.wsgi.application"
ASGI_APPLICATION = "agencyhub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60 if not DEBUG else 0)
# A connection the server dropped (restart, failover) is replaced at the next request, never reused broken.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Client-side bound on one query's wait, in seconds (0: none); the live path waits DATABASE_LIVE_QUERY_TIMEOUT.
DATABASE_STATEMENT_TIMEOUT = env.float("DATABASE_STATEMENT_TIMEOUT", default=30.0)
DATABASE_QUERY_TIMEOUT = env.float(
    "DATABASE_QUERY_TIMEOUT", default=DATABASE_STATEMENT_TIMEOUT + 5 if DATABASE_STATEMENT_TIMEOUT else 0
)
DATABASE_LIVE_QUERY_TIMEOUT = env.float("DATABASE_LIVE_QUERY_TIMEOUT", default=1.5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3 with bounded waits: a database that stops answering fails the query, never hangs the request.
    DATABASES["default"]["ENGINE"] = "agencyhub.postgresql"
    DATABASE_OPTIONS = DATABASES["default"].setdefault("OPTIONS", {})
    # A database that does not answer fails a request in seconds (then the outage paths answer), never hangs it.
    DATABASE_OPTIONS.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", 2))
    # A server gone without RST or FIN (dropped packets) is noticed by the kernel in seconds: keepalive probes
    # while the connection waits, and TCP_USER_TIMEOUT for data the server never acknowledges.
    DATABASE_OPTIONS.setdefault("keepalives", 1)
    DATABASE_OPTIONS.setdefault("keepalives_idle", env.int("DATABASE_KEEPALIVES_IDLE", 5))
    DATABASE_OPTIONS.setdefault("keepalives_interval", env.int("DATABASE_KEEPALIVES_INTERVAL", 2))
    DATABASE_OPTIONS.setdefault("keepalives_count", env.int("DATABASE_KEEPALIVES_COUNT", 3))
    DATABASE_OPTIONS.setdefault("tcp_user_timeout", env.int("DATABASE_TCP_USER_TIMEOUT_MS", 10_000))
    # A statement bound on the server (agencyhub/postgresql/binding.py: the inbox's INSERT, a drained batch's call
    # writes) is prepared on its connection once it ran this many times, and then neither parsed nor planned again
    # (~80 us of the backend's CPU per inbox INSERT, #12); Django's default cursors bind on the client and never
    # prepare. Empty: never (behind a pooler that hands one connection to several clients, PgBouncer in transaction
    # mode, which keeps no prepared statements).
    _prepare_threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="5").strip()
    if _prepare_threshold and not _prepare_threshold.isdigit():
        raise SystemExit(
            f"DATABASE_PREPARE_THRESHOLD must be a whole number of runs, or empty to prepare nothing "
            f"(got {_prepare_threshold!r})."
        )
    DATABASE_OPTIONS.setdefault("prepare_threshold", int(_prepare_threshold) if _prepare_threshold else None)
    # The server ends a runaway statement, and a transaction left idle (by a process that hung) frees its locks.
    DATABASE_OPTIONS.setdefault(
        "options",
        f"-c statement_timeout={int(DATABASE_STATEMENT_TIMEOUT * 1000)} "
        f"-c idle_in_transaction_session_timeout={env.int('DATABASE_IDLE_IN_TRANSACTION_TIMEOUT', 60) * 1000}",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHE_URL = env.str("CACHE_URL", default="locmemcache://agencyhub")
# Seconds a cache call may wait on Redis: a live call must not wait on a cache that is down.
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT", default=0.3)
if CACHE_URL.startswith(("redis://", "rediss://")):
    # django-redis: one connection pool per process, and a Redis error is a cache miss (logged), never a 500.
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": CACHE_SOCKET_TIMEOUT,
                "SOCKET_TIMEOUT": CACHE_SOCKET_TIMEOUT,
                "IGNORE_EXCEPTIONS": True,
                "CONNECTION_POOL_KWARGS": {"max_connections": 50},
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": env.cache_url_config(CACHE_URL)}
# Where verified events go while the database is unreachable (a Redis list, drained into the inbox);
# empty: no spool, such an event is answered with a status its sender retries.
WEBHOOK_SPOOL_URL = env.str("WEBHOOK_SPOOL_URL", default=CACHE_URL if CACHE_URL.startswith("redis") else "")
# Where the audit records of tool calls that changed nothing (availability) wait for a beat task to write them to
# the database in batches (voice/live/records.py); empty: written in the request, as when Redis does not take one.
TOOL_CALL_RECORD_QUEUE_URL = env.str(
    "TOOL_CALL_RECORD_QUEUE_URL", default=CACHE_URL if CACHE_URL.startswith("redis") else ""
)

AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-allauth: email is the login, verified before first sign-in; rate limits stay at allauth's defaults.
ACCOUNT_ADAPTER = "tenants.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[AgencyHub] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "AgencyHub"
# Anyone may sign up and create an agency; False allows sign-up through invitations only.
SIGNUP_OPEN = env.bool("SIGNUP_OPEN", default=True)
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
if "EMAIL_URL" in env:
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="AgencyHub <no-reply@agencyhub.test>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Files the app writes (export results); served only through tenant-scoped views, never as MEDIA_URL.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security: strict by default in production, relaxed only for local HTTP development.
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Secrets at rest: comma-separated Fernet keys, the first encrypts, all decrypt.
_dev_fernet_key = base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[_dev_fernet_key] if DEBUG else [])
if not FIELD_ENCRYPTION_KEYS:
    raise SystemExit("FIELD_ENCRYPTION_KEYS is required when DEBUG is off: set one or more Fernet keys.")

# Celery: eager in-process unless a broker is configured.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# After-call work that waits on GHL has a queue of its own (agencyhub/queues.py); a worker without -Q serves both.
CELERY_TASK_QUEUES = queues.TASK_QUEUES
CELERY_TASK_ROUTES = queues.TASK_ROUTES
# Without it, Celery's Django fixup closes the database connections before and after every task: a new PostgreSQL
# backend for each (#12: two per drained batch of reports). With it, a worker keeps them as a web process does, for
# CONN_MAX_AGE, closed after a task that left them unusable (agencyhub.celery), and at least every this many tasks.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_TIME_LIMIT = 300
# A request that enqueues must not hang on a broker that is down: one quick retry, then the sweepers take over.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=1.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# A worker killed mid-handler leaves its claim behind; twice the task time limit means it is surely dead.
WEBHOOK_STALE_CLAIM_SECONDS = env.int("WEBHOOK_STALE_CLAIM_SECONDS", default=2 * CELERY_TASK_TIME_LIMIT)
# Work left pending or queued this long was not picked up (broker down at enqueue): the sweepers enqueue it again.
QUEUED_WORK_GRACE_SECONDS = env.int("QUEUED_WORK_GRACE_SECONDS", default=120)
# The periodic tasks (sweeps, reminders, reports, flushes), each with why and how often: agencyhub/beat.py.
CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AgencyHub API",
    "DESCRIPTION": "Read an agency's clients, calls and bookings with an agency API key sent as "
    "`Authorization: Bearer <key>` (created on the agency's settings page or with "
    "`manage.py create_api_key <agency slug>`); lists are paged (`page`, `page_size` up to 200). "
    "Also documents the GoHighLevel and Vapi webhook endpoints, which their own signatures guard.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# GoHighLevel API v2; in SANDBOX mode requests never leave the process.
GHL_API_BASE_URL = env.str("GHL_API_BASE_URL", default="https://services.leadconnectorhq.com")
GHL_MARKETPLACE_URL = env.str("GHL_MARKETPLACE_URL", default="https://marketplace.gohighlevel.com")
GHL_SPECS_DIR = env.str("GHL_SPECS_DIR", default=str(BASE_DIR / "integrations" / "ghl" / "spec"))
# How long the sandbox takes to answer each request, standing in for GHL's network round trip (the drain bench's
# backlog mode); none by default.
GHL_SANDBOX_LATENCY_MS = env.int("GHL_SANDBOX_LATENCY_MS", default=0)
# Whether the sandbox counts GHL's rate limits (100 requests per 10 s per location), with its X-RateLimit-* headers
# and 429s (integrations/ghl/sandbox/limits.py); off by default, so a demo or a test is never told to wait 10 s.
GHL_SANDBOX_RATE_LIMIT = env.bool("GHL_SANDBOX_RATE_LIMIT", default=False)

# Vapi REST API; in SANDBOX mode requests never leave the process.
VAPI_API_BASE_URL = env.str("VAPI_API_BASE_URL", default="https://api.vapi.ai")

# Content-Security-Policy (agencyhub.security): every script, style, font and image is vendored under static/.
# Recordings play from Vapi's storage (https://storage.vapi.ai) or from an agency's own bucket, added here.
CSP_MEDIA_HOSTS = env.list("CSP_MEDIA_HOSTS", default=["https://storage.vapi.ai"])
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    # Templates carry style attributes (a job's progress width, card widths): allowed as attributes only;
    # <style> elements stay out (style-src-elem). Browsers without CSP level 3 fall back to style-src.
    "style-src": ["'self'", "'unsafe-inline'"],
    "style-src-elem": ["'self'"],
    "style-src-attr": ["'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    # The sandbox serves its recordings at PUBLIC_BASE_URL, which a proxy or another port may put off 'self'.
    "media-src": ["'self'", *CSP_MEDIA_HOSTS, *([PUBLIC_BASE_URL] if SANDBOX else [])],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    # "Connect" posts here and is redirected to GHL's consent page; Chrome checks form-action on that redirect.
    "form-action": ["'self'", GHL_MARKETPLACE_URL],
}

# Logging: one line per event carrying request id, agency and call id; JSON in production.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "agencyhub.observability.ContextFilter"}},
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s "
            "[req=%(request_id)s agency=%(agency)s call=%(call_id)s] %(message)s"
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(agency)s %(call_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        send_default_pii=False,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
