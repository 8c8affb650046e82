"""The simulator on the session's socket, asked as a client asks it."""

import httpx
import pytest

HELLO = [{"role": "user", "content": "Describe the release"}]


@pytest.fixture
def post(simulator_server):
    def post(**body):
        body.setdefault("model", "simulator/chat-fast")
        body.setdefault("messages", HELLO)
        return httpx.post(f"{simulator_server.base_url}/chat/completions", json=body, timeout=10)

    return post
