from django.urls import path

from playground.chat.consumers import RunConsumer

websocket_urlpatterns = [
    # django-stubs' path() takes only Django views; channels routes an ASGI app through it.
    path("ws/run/", RunConsumer.as_asgi()),  # type: ignore[arg-type]
]
