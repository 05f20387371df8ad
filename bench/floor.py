"""The Python floor: the least a gateway on our stack (uvicorn + uvloop + httptools +
aiohttp) can do. Forwards the POST body to UPSTREAM + path, streams the bytes back.
    FLOOR_UPSTREAM=http://127.0.0.1:9100 python bench/floor.py PORT"""
import os
import sys

import aiohttp
import uvicorn

UPSTREAM = os.environ.get("FLOOR_UPSTREAM", "http://127.0.0.1:9100")
session: aiohttp.ClientSession | None = None


async def app(scope, receive, send):
    global session
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000))
            await send({"type": "lifespan.startup.complete"})
        await session.close()
        return await send({"type": "lifespan.shutdown.complete"})
    body, more = b"", True
    while more:
        message = await receive()
        body, more = body + message.get("body", b""), message.get("more_body", False)
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
    async with session.post(UPSTREAM + scope["path"], data=body, headers=headers) as up:
        ctype = up.headers.get("content-type", "application/json").encode()
        await send({"type": "http.response.start", "status": up.status, "headers": [(b"content-type", ctype)]})
        async for chunk in up.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
                log_level="warning", access_log=False)
