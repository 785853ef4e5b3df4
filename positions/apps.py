from django.apps import AppConfig


class PositionsConfig(AppConfig):
    name = "positions"
    default_auto_field = "django.db.models.BigAutoField"
