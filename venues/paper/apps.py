from django.apps import AppConfig


class PaperConfig(AppConfig):
    name = "venues.paper"
    label = "paper"
    verbose_name = "Paper exchange"
    default_auto_field = "django.db.models.BigAutoField"
