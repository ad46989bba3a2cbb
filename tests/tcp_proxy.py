"""A TCP forwarder on 127.0.0.1 that a test can cut, to take the database away from the app.

`stop()` closes the listening socket and every open connection, as a stopped or
restarted PostgreSQL server does (new connections are refused, old ones reset).
`blackhole()` accepts connections and never forwards a byte, as a host that swallows
packets does (only a connect timeout ends the wait). `start()` serves again on the
same port.
"""
from __future__ import annotations

import socket
import threading


class TcpProxy:
    """Forward 127.0.0.1:<port> to an upstream address until told otherwise."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._forward = True
        self.start()

    def start(self) -> None:
        """Listen (again, on the same port) and forward."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
        except OSError:
            listener.close()
            raise
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener, self._forward = listener, True
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and reset the open ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            open_sockets, self._sockets = self._sockets, set()
        if listener is not None:
            _close(listener)  # shutdown first: close alone leaves a blocked accept() listening
        for sock in open_sockets:
            _close(sock)

    def blackhole(self) -> None:
        """Reset the open connections; accept new ones but never answer them."""
        with self._lock:
            self._forward = False
            open_sockets, self._sockets = self._sockets, set()
        for sock in open_sockets:
            _close(sock)

    def close(self) -> None:
        """Stop for good."""
        self.stop()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            with self._lock:
                forward = self._forward and self._listener is listener
                self._sockets.add(client)
            if not forward:
                continue  # held open, never answered
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets.add(server)
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
