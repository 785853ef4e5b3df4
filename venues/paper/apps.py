from django.apps import AppConfig


class PaperConfig(AppConfig):
    name = "venues.paper"
    label = "paper"
    verbose_name = "Paper exchange"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from venues.paper.second import second_markets_register

        second_markets_register()  # PAPER2's markets, beside the paper exchange's
