from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("voice", "0005_call_stats_index")]

    operations = [
        migrations.RenameField(model_name="booking", old_name="outcome", new_name="spoken_result"),
    ]
