from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def sandbox_not_in_production(app_configs, **kwargs):
    """The provider stand-ins may be switched on in production, but never silently."""
    if settings.SANDBOX and not settings.DEBUG:
        return [
            Warning(
                "SANDBOX is on while DEBUG is off: GoHighLevel and Vapi calls go to the local stand-ins.",
                hint="Unset SANDBOX (or set SANDBOX=False) to talk to the real providers.",
                id="agencyhub.W001",
            )
        ]
    return []
