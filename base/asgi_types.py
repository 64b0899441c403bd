"""The ASGI events plotserver's own apps send, as the ASGI spec has them.

asgiref's TypedDicts (asgiref.typing, used here for scopes and for what apps receive) make every
optional key of an event required; the apps send only the keys they mean, so the events they
send are typed here. Every server's `send` takes them: where a `send` typed with asgiref's
events is handed to one of these apps, it is cast to the type here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Literal, NotRequired, TypedDict


class HTTPResponseStart(TypedDict):
    type: Literal["http.response.start"]
    status: int
    headers: Iterable[tuple[bytes, bytes]]


class HTTPResponseBody(TypedDict):
    type: Literal["http.response.body"]
    body: bytes
    more_body: NotRequired[bool]


class WebSocketAccept(TypedDict):
    type: Literal["websocket.accept"]


class WebSocketSendText(TypedDict):
    type: Literal["websocket.send"]
    text: str


class WebSocketClose(TypedDict):
    type: Literal["websocket.close"]
    code: int


HTTPSend = Callable[[HTTPResponseStart | HTTPResponseBody], Awaitable[None]]
WebSocketSend = Callable[[WebSocketAccept | WebSocketSendText | WebSocketClose], Awaitable[None]]
