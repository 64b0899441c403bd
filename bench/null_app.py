"""The baseline of the ingest benchmarks: a bare ASGI app that frames and parses every line, then drops it.

It does what any server must do with a stream (read the body as it comes, cut it into lines,
parse each line as JSON with the same standard-library parser plotserver uses) and nothing
of plotserver's own (no window, no store, no fan-out). Its CPU per point, measured in the same
run under the same uvicorn, is what plotserver's figure is divided by. It answers the way a
stream is answered: `{"accepted": N, "rejected": M}`, then closes.
"""

import json


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    accepted = rejected = 0
    pending = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        *lines, pending = (pending + message.get("body", b"")).split(b"\n")
        for line in lines:
            if not line.strip():
                continue  # a heartbeat
            try:
                json.loads(line)
                accepted += 1
            except ValueError:
                rejected += 1
        if not message.get("more_body"):
            break
    body = b'{"accepted": %d, "rejected": %d}' % (accepted, rejected)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"%d" % len(body)), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
