from django.core.management.base import BaseCommand
from django.db import transaction

from integrations.crypto import encrypted_fields

PROGRESS_EVERY = 500


class Command(BaseCommand):
    help = (
        "Re-encrypts every stored secret with the newest key (the first of FIELD_ENCRYPTION_KEYS). "
        "Put the new key first, keep the old ones after it, run this, then drop the old keys."
    )

    def handle(self, *args, **options):
        total = 0
        for model, names in encrypted_fields():
            rows = model._base_manager.only("pk", *names)
            count = rows.count()
            for done, pk in enumerate(rows.values_list("pk", flat=True).iterator(), start=1):
                # Locked while rewritten, so a token refreshed meanwhile is never overwritten by its old value.
                with transaction.atomic():
                    row = rows.select_for_update().get(pk=pk)
                    rows.filter(pk=pk).update(**{name: getattr(row, name) for name in names})
                if done % PROGRESS_EVERY == 0 or done == count:
                    self.stdout.write(f"  {model._meta.label}: {done}/{count}")
            total += count
        self.stdout.write(self.style.SUCCESS(f"Done: {total} row(s) now use the newest key."))
