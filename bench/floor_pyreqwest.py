"""The Python floor with pyreqwest (a Rust, reqwest-based client) instead of aiohttp: the same
~30-line pass-through proxy as floor.py, to compare the upstream clients on the same load.
Needs pyreqwest (bench/.venvs/granian has it: `python -m bench.servers` installs it).
    FLOOR_UPSTREAM=http://127.0.0.1:9100 bench/.venvs/granian/bin/python bench/floor_pyreqwest.py PORT"""
import os
import sys

import uvicorn
from pyreqwest.client import Client, ClientBuilder

UPSTREAM = os.environ.get("FLOOR_UPSTREAM", "http://127.0.0.1:9100")
#: Bytes pyreqwest buffers of a streamed body before the response (headers included) is handed
#: over: its default, 64 KiB, holds a whole 30-chunk stream back until its end (TTFT = total).
READ_BUFFER = int(os.environ.get("FLOOR_PYREQWEST_BUFFER", "1"))  # 0: pyreqwest's default (64 KiB)
client: Client | None = None


async def app(scope, receive, send):
    global client
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            client = ClientBuilder().max_connections(1000).build()
            await send({"type": "lifespan.startup.complete"})
        await client.close()
        return await send({"type": "lifespan.shutdown.complete"})
    body, more = b"", True
    while more:
        message = await receive()
        body, more = body + message.get("body", b""), message.get("more_body", False)
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
    builder = client.post(UPSTREAM + scope["path"]).headers(headers).body_bytes(body)
    if READ_BUFFER:
        builder = builder.streamed_read_buffer_limit(READ_BUFFER)
    request = builder.build_streamed()
    async with request as up:
        ctype = (up.get_header("content-type") or "application/json").encode()
        await send({"type": "http.response.start", "status": up.status, "headers": [(b"content-type", ctype)]})
        while (chunk := await up.body_reader.read_chunk()) is not None:
            await send({"type": "http.response.body", "body": bytes(chunk), "more_body": True})
    await send({"type": "http.response.body", "body": b""})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
                log_level="warning", access_log=False)
