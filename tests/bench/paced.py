"""An open-loop, paced load: request n is due at start + n / rate, whatever the answers.

wrk holds connections busy as fast as the server answers (a closed loop): it measures the
most the server takes, not how long a reply takes at a given rate. This sender schedules
every request at its own moment and spreads them over many keep-alive connections (plain
asyncio streams: its own CPU stays small beside the server's on a shared machine); a request
that finds every connection busy waits in line, and that wait counts (latency is measured
from when the request was due, as LINE would see it).

Run by ``bench_http.py`` as ``python -m tests.bench.paced URL LINES RATE OUT`` in a process
of its own: LINES is a file of replay.lua's request lines (``path, header, value, body``,
tab-separated); OUT receives JSON: each request's due time (epoch seconds) by reply token,
the answers' statuses, and how far behind schedule the sender itself fell.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

CONNECTIONS = 32


async def _send(
    host: str, port: int, queue: asyncio.Queue[tuple[bytes, str] | None], statuses: Counter[str]
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while (item := await queue.get()) is not None:
        request, _token = item
        for _attempt in range(2):  # once more on a connection the server had closed
            try:
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(request)
                status = (await reader.readline()).split(b" ", 2)[1].decode()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                    if name.strip().lower() == b"connection" and b"close" in value.lower():
                        status += "/close"
                await reader.readexactly(length)
                statuses[status.removesuffix("/close")] += 1
                if status.endswith("/close"):
                    writer.close()
                    reader = writer = None
                break
            except (OSError, IndexError, asyncio.IncompleteReadError):
                if writer is not None:
                    writer.close()
                reader = writer = None
        else:
            statuses["error"] += 1


async def paced(url: str, lines: list[str], rate: float) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    queue: asyncio.Queue[tuple[bytes, str] | None] = asyncio.Queue()
    statuses: Counter[str] = Counter()
    senders = [asyncio.create_task(_send(host, port, queue, statuses)) for _ in range(CONNECTIONS)]
    due: dict[str, float] = {}
    behind = 0.0
    start = time.time() + 0.2
    for n, line in enumerate(lines):
        path, header, value, body = line.rstrip("\n").split("\t", 3)
        data = body.encode()
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\n{header}: {value}\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode() + data
        token = json.loads(body)["events"][0].get("replyToken", str(n))
        at = start + n / rate
        wait = at - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        else:
            behind = max(behind, -wait)
        due[token] = at
        queue.put_nowait((request, token))
    for _ in senders:
        queue.put_nowait(None)
    await asyncio.gather(*senders)
    return {
        "due": due,
        "statuses": dict(statuses),
        "sender_behind_s": behind,
        "seconds": time.time() - start,
    }


def main() -> None:
    url, lines_path, rate, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    with open(lines_path, encoding="utf-8") as source:
        lines = source.readlines()
    result = asyncio.run(paced(url, lines, rate))
    with open(out, "w", encoding="utf-8") as target:
        json.dump(result, target)


if __name__ == "__main__":
    main()
