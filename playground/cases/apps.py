from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "playground.cases"
    label = "cases"
