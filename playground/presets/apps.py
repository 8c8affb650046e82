from django.apps import AppConfig


class PresetsConfig(AppConfig):
    name = "playground.presets"
    label = "presets"
