"""A hostile-ish HTTP server on 127.0.0.1 for the download tests (in-process and subprocess).

Routes:
  /img/NAME            the registered bytes, with Content-Length and the registered Content-Type
  /nolen/NAME          the registered bytes without Content-Length (body ends when the connection closes)
  /flaky/NAME          500 on the 1st, 3rd, ... request of that path, the bytes on the 2nd, 4th, ...
  /status/CODE         an empty response with that status
  /stall               headers announcing 1000 bytes, 10 bytes, then silence (bounded) and close
  /drip                no Content-Length, one byte every 0.2 s for at most 10 s
  /drip-headers        the status line, then one header byte every 0.2 s for at most 10 s
  /big-len             a Content-Length above any test cap, then a little data
  /big-nolen           2 MB without Content-Length
  /redirect-loop       302 to itself
  /redirect/N/NAME     N hops of 302, then /img/NAME
  /to/URL-ENCODED      302 to the given absolute URL
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

STALL_SECONDS = 4.0


class LoopbackServer:
    """Start with `with LoopbackServer() as srv:`; register files with `srv.files[name] = (bytes, type)`."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"

    def __enter__(self) -> LoopbackServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def _count(self, path: str) -> int:
        with self._lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            return self.hits[path]

    def _send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        body: bytes = b"",
        ctype: str = "",
        length: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        h.send_response(status)
        if ctype:
            h.send_header("Content-Type", ctype)
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        if length:
            h.send_header("Content-Length", str(len(body)))
        else:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        h.wfile.write(body)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path
        count = self._count(path)
        parts = path.split("/", 2)
        kind = parts[1] if len(parts) > 1 else ""
        rest = parts[2] if len(parts) > 2 else ""
        try:
            if kind in ("img", "nolen", "flaky") and rest in self.files:
                body, ctype = self.files[rest]
                if kind == "flaky" and count % 2 == 1:
                    self._send(h, 500)
                else:
                    self._send(h, 200, body, ctype, length=kind != "nolen")
            elif kind == "status":
                self._send(h, int(rest))
            elif kind == "stall":
                h.send_response(200)
                h.send_header("Content-Length", "1000")
                h.end_headers()
                h.wfile.write(b"\xff\xd8\xff\xe0" + b"\0" * 6)
                h.wfile.flush()
                self._stop.wait(STALL_SECONDS)
                h.close_connection = True
            elif kind == "drip":
                h.send_response(200)
                h.send_header("Connection", "close")
                h.end_headers()
                h.close_connection = True
                end = time.monotonic() + 10
                while time.monotonic() < end and not self._stop.is_set():
                    h.wfile.write(b"x")
                    h.wfile.flush()
                    self._stop.wait(0.2)
            elif kind == "drip-headers":
                h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                end = time.monotonic() + 10
                while time.monotonic() < end and not self._stop.is_set():
                    h.wfile.write(b"a")
                    h.wfile.flush()
                    self._stop.wait(0.2)
                h.close_connection = True
            elif kind == "big-len":
                h.send_response(200)
                h.send_header("Content-Length", str(500 * 1024 * 1024))
                h.end_headers()
                h.wfile.write(b"\xff\xd8\xff" + b"\0" * 1000)
                h.close_connection = True
            elif kind == "big-nolen":
                self._send(h, 200, b"\xff\xd8\xff" + b"\0" * (2 * 1024 * 1024), "image/jpeg", length=False)
            elif kind == "redirect-loop":
                self._send(h, 302, headers={"Location": "/redirect-loop"})
            elif kind == "redirect":
                hops, _, name = rest.partition("/")
                target = f"/redirect/{int(hops) - 1}/{name}" if int(hops) > 1 else f"/img/{name}"
                self._send(h, 302, headers={"Location": target})
            elif kind == "to":
                self._send(h, 302, headers={"Location": unquote(rest)})
            else:
                self._send(h, 404, b"not found", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first, which is what several tests want
