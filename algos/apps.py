from django.apps import AppConfig


class AlgosConfig(AppConfig):
    name = "algos"
    verbose_name = "Execution algorithms"
