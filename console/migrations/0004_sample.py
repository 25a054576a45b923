# Persisted console history (console.tasks.record_samples); written by hand so
# that it holds only the Sample model.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("console", "0003_alert_rules"),
    ]

    operations = [
        migrations.CreateModel(
            name="Sample",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(db_index=True)),
                ("kind", models.CharField(choices=[("topic", "topic"), ("group", "group")], max_length=5)),
                ("name", models.CharField(max_length=250)),
                ("values", models.JSONField(default=dict)),
            ],
            options={
                "ordering": ["at", "id"],
                "indexes": [models.Index(fields=["kind", "name", "at"], name="console_sam_kind_2761d4_idx")],
            },
        ),
    ]
