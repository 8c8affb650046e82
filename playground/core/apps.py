from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "playground.core"
    label = "core"

    def ready(self) -> None:
        from django.conf import settings
        from django.contrib.auth.signals import user_logged_out

        from playground import upstream

        from . import checks  # noqa: F401  (registers the system checks)
        from .middleware import mark_logout

        user_logged_out.connect(mark_logout, dispatch_uid="playground-clear-site-data")

        upstream.configure(
            upstream.UpstreamConfig(
                # Room for every run this process allows, plus model-list requests.
                pool_size=settings.PLAYGROUND_MAX_RUNS_PER_PROCESS + 10,
                connect_timeout=settings.UPSTREAM_CONNECT_TIMEOUT,
                read_timeout=settings.UPSTREAM_READ_TIMEOUT,
                total_timeout=settings.UPSTREAM_TOTAL_TIMEOUT,
                transport=settings.UPSTREAM_TRANSPORT,
            )
        )
