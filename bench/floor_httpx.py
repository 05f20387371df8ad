"""The Python floor with httpx as the upstream client instead of aiohttp (otherwise the
same as floor.py), to choose the gateway's client by numbers.
    FLOOR_UPSTREAM=http://127.0.0.1:9100 python bench/floor_httpx.py PORT"""
import os
import sys

import httpx
import uvicorn

UPSTREAM = os.environ.get("FLOOR_UPSTREAM", "http://127.0.0.1:9100")
client: httpx.AsyncClient | None = None


async def app(scope, receive, send):
    global client
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
            client = httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(60.0))
            await send({"type": "lifespan.startup.complete"})
        await client.aclose()
        return await send({"type": "lifespan.shutdown.complete"})
    body, more = b"", True
    while more:
        message = await receive()
        body, more = body + message.get("body", b""), message.get("more_body", False)
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
    async with client.stream("POST", UPSTREAM + scope["path"], content=body, headers=headers) as up:
        ctype = up.headers.get("content-type", "application/json").encode()
        await send({"type": "http.response.start", "status": up.status_code, "headers": [(b"content-type", ctype)]})
        async for chunk in up.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
                log_level="warning", access_log=False)
