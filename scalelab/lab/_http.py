"""The little HTTP/1.1 that the proxy and the load generator speak over asyncio streams.

Messages carry ``Content-Length`` bodies (no chunked encoding): the lab's instances, proxy and
load generator all do. Header names are compared in lower case.
"""

from __future__ import annotations

import asyncio
import sys

HEAD_END = b"\r\n\r\n"
HEAD_LIMIT = 64 * 1024
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer",
                        b"transfer-encoding", b"upgrade"})


class BadMessage(ValueError):
    """The peer sent something this HTTP subset cannot read."""


if sys.version_info >= (3, 11):
    timeout = asyncio.timeout
else:  # pragma: no cover - Python 3.10
    import contextlib

    @contextlib.asynccontextmanager
    async def timeout(delay: float):
        """``asyncio.timeout`` for Python 3.10: cancel the current task after ``delay`` s."""
        task = asyncio.current_task()
        fired = []

        def fire():
            fired.append(True)
            task.cancel()

        handle = asyncio.get_running_loop().call_later(delay, fire)
        try:
            yield
        except asyncio.CancelledError:
            if fired:
                raise asyncio.TimeoutError() from None
            raise
        finally:
            handle.cancel()


def split_head(head: bytes) -> tuple[list[bytes], list[tuple[bytes, bytes, bytes]]]:
    """``(start line words, [(lower-case name, value, raw line), …])`` of a message head
    that ends with a blank line."""
    lines = head[:-4].split(b"\r\n")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            raise BadMessage(f"malformed header line {line[:80]!r}")
        headers.append((name.strip().lower(), value.strip(), line))
    return lines[0].split(b" ", 2), headers


async def read_head(reader: asyncio.StreamReader) -> bytes:
    """Up to and including the blank line; ``IncompleteReadError`` at end of stream."""
    try:
        return await reader.readuntil(HEAD_END)
    except asyncio.LimitOverrunError:
        raise BadMessage(f"message head longer than {HEAD_LIMIT} bytes") from None


def content_length(headers) -> int:
    """The body's length in bytes (0 when there is none); chunked bodies are refused."""
    length = 0
    for name, value, _ in headers:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                raise BadMessage(f"bad Content-Length {value!r}") from None
        elif name == b"transfer-encoding" and value.lower() != b"identity":
            raise BadMessage("chunked bodies are not supported: send Content-Length")
    return length


def header(headers, name: bytes, default: bytes | None = None) -> bytes | None:
    """The value of the first header called ``name`` (lower case)."""
    for key, value, _ in headers:
        if key == name:
            return value
    return default


def wants_close(version: bytes, headers) -> bool:
    """Whether the sender asked to close the connection after this message."""
    connection = (header(headers, b"connection") or b"").lower()
    if version == b"HTTP/1.0":
        return b"keep-alive" not in connection
    return b"close" in connection


def close_quietly(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        try:
            writer.close()
        except (OSError, RuntimeError):
            pass
