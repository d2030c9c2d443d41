"""The floor for an HTTP client: a bare aiohttp loop posting the same chat JSON, C at a time.

    python benchmarks/bare_aiohttp.py BASE_URL N CONCURRENCY

No framework, no files, no parsing beyond ``json.loads``. bench_runner.py times it as a process.
"""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp


async def main(base_url: str, n: int, concurrency: int) -> None:
    headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        semaphore = asyncio.Semaphore(concurrency)

        async def one(i: int) -> str:
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"question {i}"}]}
            async with semaphore, session.post(base_url + "/chat/completions", data=json.dumps(body)) as r:
                reply = json.loads(await r.read())
            text: str = reply["choices"][0]["message"]["content"]
            return text

        answers = await asyncio.gather(*(one(i) for i in range(n)))
    assert len(answers) == n


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
