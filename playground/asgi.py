"""ASGI entry point: HTTP to Django (and the mounted simulator), websockets to Channels."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
# Set up before importing anything that uses Django, as get_asgi_application() does.
django.setup(set_prefix=False)

from playground.core.handler import KeptThreadsASGIHandler  # noqa: E402

django_http = KeptThreadsASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from playground.chat.middleware import DatabaseDownNotice  # noqa: E402
from playground.origin import SameOriginValidator  # noqa: E402
from playground.routing import websocket_urlpatterns  # noqa: E402
from playground.simulator import SimulatedDisconnect, Simulator  # noqa: E402


class Mount:
    """Hands `prefix/...` to another ASGI app (with root_path set), the rest to `default`."""

    def __init__(self, prefix: str, app, default):
        self.prefix = prefix
        self.app = app
        self.default = default

    async def __call__(self, scope, receive, send):
        path = scope["path"]
        if path == self.prefix or path.startswith(self.prefix + "/"):
            scope = {**scope, "root_path": scope.get("root_path", "") + self.prefix}
            try:
                return await self.app(scope, receive, send)
            except SimulatedDisconnect:
                # Daphne neither drops the connection when an app raises mid-response nor
                # survives it well, so here a simulated drop ends the body without [DONE].
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return None
        return await self.default(scope, receive, send)


http_application: KeptThreadsASGIHandler | Mount = django_http
if settings.SIMULATOR_MOUNTED:
    simulator = Simulator(api_key=os.environ[settings.SIMULATOR_KEY_ENV])
    http_application = Mount("/simulator", simulator, django_http)

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": SameOriginValidator(
            # types-channels wants routes whose callback is an ASGI app, a stub-only class
            # that django-stubs' path() never returns (see routing.py).
            DatabaseDownNotice(
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns))  # type: ignore[arg-type]
            )
        ),
    }
)
