"""The practical floor: the official ``openai.AsyncOpenAI`` client with an ``asyncio.Semaphore``.

    python benchmarks/bare_sdk.py BASE_URL N CONCURRENCY [default|aiohttp]

No framework, no files: N chat calls, C at a time, on the SDK's default (httpx) transport or
its aiohttp one (``DefaultAioHttpClient``, needs httpx-aiohttp). bench_runner.py times it.
"""

from __future__ import annotations

import asyncio
import sys

import openai


async def main(base_url: str, n: int, concurrency: int, transport: str) -> None:
    extra = {"http_client": openai.DefaultAioHttpClient()} if transport == "aiohttp" else {}
    client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0, **extra)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> str | None:
        async with semaphore:
            response = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"question {i}"}]
            )
            return response.choices[0].message.content

    answers = await asyncio.gather(*(one(i) for i in range(n)))
    await client.close()
    assert len(answers) == n


if __name__ == "__main__":
    transport = sys.argv[4] if len(sys.argv) > 4 else "default"
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), transport))
