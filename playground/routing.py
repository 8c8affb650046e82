"""Websocket routes (the playground's run socket joins here)."""

websocket_urlpatterns: list = []
