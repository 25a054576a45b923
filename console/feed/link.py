"""The socket under a feed connection: back-pressure and close reasons.

ASGI gives an application no view of the transport: ``send`` returns once a
frame is handed to the server, however full the client's TCP window is. So
under Daphne the feed looks at the Twisted transport's own write buffer
(the protocol is the bound argument of the ``send`` Daphne passes in), and
closes with a reason through the protocol, because Daphne drops the ASGI
close "reason". Elsewhere (e.g. ``WebsocketCommunicator`` in tests) there
is no transport: only the connection's own bounded queue applies, and
close reasons go out through ASGI.

Fan-out cost is per client per event, so under Daphne each event is framed
once (autobahn's ``PreparedMessage``, its broadcast helper) and written to
every live socket directly from the event loop, without a coroutine per
frame; elsewhere frames go through ASGI ``send`` as text.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from autobahn.websocket.protocol import PreparedMessage

HIGH_WATER = 1 << 20  # bytes waiting in the transport: stop sending
LOW_WATER = 256 << 10  # ... until it drains below this


def prepare(frame: str) -> PreparedMessage:
    """Frame a text message once for sending on many sockets (no mask: server)."""
    return PreparedMessage(frame.encode(), False, False, True)


class Link:
    """What the feed can see of one socket's transport."""

    def __init__(self, send: Any) -> None:
        self.protocol = _daphne_protocol(send)
        # Writes prepared frames straight to the transport (under Daphne).
        self.direct = self.protocol is not None and hasattr(
            self.protocol, "sendPreparedMessage"
        )

    def write(self, prepared: PreparedMessage) -> None:
        """Send a prepared frame now (``direct`` links only); dropped once closed."""
        protocol = self.protocol
        if protocol.state == protocol.STATE_OPEN:
            protocol.sendPreparedMessage(prepared)

    def backlog(self) -> int:
        """Return the bytes written but not yet taken by the kernel (0: unknown)."""
        transport = getattr(self.protocol, "transport", None)
        if transport is None:
            return 0
        # twisted.internet.abstract.FileDescriptor keeps unsent data in
        # dataBuffer (from offset) plus _tempDataBuffer (_tempDataLen bytes).
        buffered = len(getattr(transport, "dataBuffer", b""))
        return (
            buffered
            - int(getattr(transport, "offset", 0))
            + int(getattr(transport, "_tempDataLen", 0))
        )

    async def drain(self, closed: asyncio.Event) -> None:
        """Wait while the transport holds more than HIGH_WATER bytes."""
        if self.backlog() <= HIGH_WATER:
            return
        while not closed.is_set() and self.backlog() > LOW_WATER:
            await asyncio.sleep(0.005)

    def close_with_reason(self, code: int, reason: str) -> bool:
        """Close through Daphne's protocol with a reason; False if not under Daphne."""
        # sendCloseFrame, not sendClose: autobahn's sendClose refuses the
        # protocol-level codes the feed uses (1002, 1003, 1008, 1009).
        send_frame = getattr(self.protocol, "sendCloseFrame", None)
        if send_frame is None:
            return False
        # A close frame's reason holds at most 123 bytes (RFC 6455 5.5).
        raw = reason.encode()[:123].decode(errors="ignore").encode()
        send_frame(code=code, reasonUtf8=raw, isReply=False)
        return True


def _daphne_protocol(send: Any) -> Any:
    # Daphne passes functools.partial(server.handle_reply, protocol); channels'
    # SessionMiddleware (the console's sockets) wraps it in a bound method of
    # an object that keeps it as ``real_send``.
    while True:
        if isinstance(send, functools.partial):
            for arg in send.args:
                if hasattr(arg, "sendCloseFrame") and hasattr(arg, "transport"):
                    return arg
            send = send.func
        elif hasattr(getattr(send, "__self__", None), "real_send"):
            send = send.__self__.real_send
        else:
            return None
