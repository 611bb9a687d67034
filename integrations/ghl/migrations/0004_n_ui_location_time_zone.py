from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ghl", "0003_connections"),
    ]

    operations = [
        migrations.AddField(
            model_name="ghlconnection",
            name="location_time_zone",
            field=models.CharField(blank=True, max_length=64),
        ),
    ]
