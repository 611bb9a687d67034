from django.db import models


class SandboxObject(models.Model):
    """One object of a provider stand-in (a GHL calendar, a Vapi assistant...), kept as the provider's JSON.

    It lives in the database so the web process and the Celery workers see the same sandbox.
    """

    provider = models.CharField(max_length=20)
    kind = models.CharField(max_length=40)
    object_id = models.CharField(max_length=100)
    parent_id = models.CharField(max_length=100, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "kind", "object_id"], name="sandbox_object_unique"),
        ]
        indexes = [models.Index(fields=["provider", "kind", "parent_id"])]

    def __str__(self):
        return f"{self.provider} {self.kind} {self.object_id}"
