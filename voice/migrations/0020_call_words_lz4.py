from django.db import migrations

from agencyhub.postgresql.toast import compression_set

# A call's words are kilobytes (transcript, messages, their search vector), written by the drain and read by the
# follow-ups: lz4 compresses them faster and smaller than pglz (#12, agencyhub/postgresql/toast.py).
COLUMNS = ("transcript", "messages", "transcript_search")


class Migration(migrations.Migration):
    dependencies = [("voice", "0019_call_day_stripes")]

    operations = [
        migrations.RunPython(
            compression_set("voice", "Call", COLUMNS, "lz4"), compression_set("voice", "Call", COLUMNS, "pglz")
        ),
    ]
