from django.db import models


class FixSessionState(models.Model):
    """Where one FIX session stands in the event stream: the last seq whose execution reports
    it was sent. One row per API key and BeginString (FIX.4.4 and FIXT.1.1 are two QuickFIX
    sessions, each with its own sequence numbers)."""

    api_key = models.ForeignKey("accounts.ApiKey", on_delete=models.CASCADE, related_name="+")
    begin_string = models.CharField(max_length=16)
    stream_seq = models.BigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "begin_string"], name="fixsessionstate_unique_key_begin"
            )
        ]

    def __str__(self) -> str:
        return f"{self.begin_string} key #{self.api_key_id} at seq {self.stream_seq}"
