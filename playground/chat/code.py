""" "View code": the exact request as curl, Python (openai SDK) and JavaScript (fetch).

The key appears only as the name of its environment variable, never as its value.
"""

from __future__ import annotations

import json
import pprint
import shlex
from typing import Any

from playground.upstream import Endpoint

# Keyword arguments the openai SDK's chat.completions.create accepts; the rest go in extra_body.
SDK_ARGUMENTS = frozenset(
    {
        "model", "messages", "stream", "stream_options", "max_tokens", "temperature", "top_p",
        "n", "stop", "frequency_penalty", "presence_penalty", "response_format", "tools",
        "tool_choice", "user", "seed", "logprobs", "top_logprobs", "reasoning_effort",
    }
)  # fmt: skip


def snippets(endpoint: Endpoint, body: dict[str, Any]) -> dict[str, str]:
    return {
        "curl": curl(endpoint, body),
        "python": python(endpoint, body),
        "javascript": javascript(endpoint, body),
    }


def curl(endpoint: Endpoint, body: dict[str, Any]) -> str:
    # -sS: no progress meter in the output, but an error still said.
    lines = [f"curl -sS {'-N ' if body.get('stream') else ''}{shlex.quote(_url(endpoint))}"]
    lines.append("-H 'Content-Type: application/json'")
    if endpoint.key_env:
        lines.append(f'-H "Authorization: Bearer ${endpoint.key_env}"')
    lines.append("--data-binary @- <<'JSON'")
    return (
        " \\\n  ".join(lines) + "\n" + json.dumps(body, indent=2, ensure_ascii=False) + "\nJSON\n"
    )


def python(endpoint: Endpoint, body: dict[str, Any]) -> str:
    known = {key: value for key, value in body.items() if key in SDK_ARGUMENTS}
    extra = {key: value for key, value in body.items() if key not in SDK_ARGUMENTS}
    key = f'os.environ["{endpoint.key_env}"]' if endpoint.key_env else '"not-needed"'
    arguments = [f"    {name}={_python_value(value)}," for name, value in known.items()]
    if extra:
        arguments.append(f"    extra_body={_python_value(extra)},")
    return (
        "import os\n\nfrom openai import OpenAI\n\n"
        f"client = OpenAI(base_url={_url(endpoint, '')!r}, api_key={key})\n"
        "response = client.chat.completions.create(\n"
        + "\n".join(arguments)
        + "\n)\n"
        + _python_reading(stream=bool(body.get("stream")), n=body.get("n") or 1)
    )


def _python_reading(*, stream: bool, n: int) -> str:
    """Prints the answer; n choices each apart, under its number (streamed, their pieces
    arrive interleaved, so they are gathered first)."""
    if n == 1 and stream:
        return (
            "for chunk in response:\n"
            "    for choice in chunk.choices:\n"
            '        print(choice.delta.content or "", end="", flush=True)\n'
            "print()\n"
        )
    if n == 1:
        return "for choice in response.choices:\n    print(choice.message.content)\n"
    if stream:
        return (
            "answers = {}\n"
            "for chunk in response:\n"
            "    for choice in chunk.choices:\n"
            '        piece = choice.delta.content or ""\n'
            '        answers[choice.index] = answers.get(choice.index, "") + piece\n'
            "for index, answer in sorted(answers.items()):\n"
            '    print(f"--- choice {index + 1} ---")\n'
            "    print(answer)\n"
        )
    return (
        "for choice in response.choices:\n"
        '    print(f"--- choice {choice.index + 1} ---")\n'
        "    print(choice.message.content)\n"
    )


def javascript(endpoint: Endpoint, body: dict[str, Any]) -> str:
    headers = ['"Content-Type": "application/json"']
    if endpoint.key_env:
        headers.append(f'"Authorization": `Bearer ${{process.env.{endpoint.key_env}}}`')
    reading = (
        "const reader = response.body.getReader();\n"
        "const decoder = new TextDecoder();\n"
        "for (;;) {\n"
        "  const { done, value } = await reader.read();\n"
        "  if (done) break;\n"
        "  process.stdout.write(decoder.decode(value)); // SSE lines: data: {...}\n"
        "}\n"
        if body.get("stream")
        else "console.log(JSON.stringify(await response.json(), null, 2));\n"
    )
    return (
        f"const response = await fetch({json.dumps(_url(endpoint))}, {{\n"
        '  method: "POST",\n'
        f"  headers: {{ {', '.join(headers)} }},\n"
        f"  body: JSON.stringify({_indent(json.dumps(body, indent=2, ensure_ascii=False))}),\n"
        "});\n" + reading
    )


def _url(endpoint: Endpoint, path: str = "chat/completions") -> str:
    return endpoint.url(path) if path else endpoint.base_url.rstrip("/")


def _python_value(value: Any) -> str:
    return _indent(pprint.pformat(value, indent=1, width=88, sort_dicts=False))


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")
