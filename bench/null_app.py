"""The transport ceiling for bench/ingest.py: an ASGI app that reads a body and discards it."""


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    lines = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        lines += message.get("body", b"").count(b"\n")
        if not message.get("more_body"):
            break
    body = b'{"accepted": %d}' % lines
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"%d" % len(body)), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
