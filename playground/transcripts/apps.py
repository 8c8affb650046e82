from django.apps import AppConfig


class TranscriptsConfig(AppConfig):
    name = "playground.transcripts"
    label = "transcripts"
