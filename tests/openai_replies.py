"""What an OpenAI-compatible server answers to a chat completion, for tests faking it
at the HTTP layer with respx."""

from __future__ import annotations

import httpx


def chat_completion(
    content: str,
    *,
    prompt_tokens: int = 100,
    completion_tokens: int = 10,
    model: str = "gpt-4o-mini",
) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1_790_000_000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        },
    )
