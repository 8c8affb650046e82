from django.urls import path

from playground.chat.consumers import RunConsumer

websocket_urlpatterns = [
    path("ws/run/", RunConsumer.as_asgi()),
]
