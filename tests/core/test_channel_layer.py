import asyncio

from channels.layers import get_channel_layer


async def test_the_configured_channel_layer_delivers_messages(settings):
    layer = get_channel_layer()
    expected = "RedisChannelLayer" if settings.REDIS_URL else "InMemoryChannelLayer"
    assert type(layer).__name__ == expected

    channel = await layer.new_channel()
    await layer.group_add("watchers", channel)
    await layer.group_send("watchers", {"type": "run.delta", "text": "héllo"})
    message = await asyncio.wait_for(layer.receive(channel), timeout=5)
    await layer.group_discard("watchers", channel)
    assert message == {"type": "run.delta", "text": "héllo"}
