"""Requests written byte by byte on a socket: what an HTTP client library would not send (a body never finished)."""

import socket

# Past every body limit of the api and the gateway (64 KiB by default).
TWO_MB = 2 * 1024 * 1024


def _status(connection: socket.socket) -> int:
    head = connection.recv(4096).decode("latin-1")
    return int(head.split(" ", 2)[1])


def status_after_declaring(port: int, path: str, length: int = TWO_MB) -> int:
    """The answer's status to a POST that declares `length` bytes and sends none of them."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: loopback\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n".encode()
        )
        return _status(connection)


def status_while_streaming(port: int, path: str) -> int:
    """The answer's status to a chunked POST of 80 KiB that is never finished: it cannot wait for the end."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: loopback\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunk = b"x" * 16 * 1024
        for _ in range(5):
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        return _status(connection)
