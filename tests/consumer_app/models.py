from django.db import models


class Handled(models.Model):
    """One run of a test handler (rolled back with the handler on failure)."""

    group = models.CharField(max_length=100)
    event_id = models.CharField(max_length=36)
    key = models.CharField(max_length=100, blank=True)
    seq = models.IntegerField()
    pid = models.IntegerField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
