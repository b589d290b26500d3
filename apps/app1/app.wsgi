"""app1: a plain WSGI app. Says which server ran it, in the body and in X-Served-By."""
import socket

SERVER = socket.gethostname()


def application(environ, start_response):
    body = f"app1 served by {SERVER}\n".encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("X-Served-By", SERVER),
            ("Cache-Control", "no-store"),
        ],
    )
    return [body]
