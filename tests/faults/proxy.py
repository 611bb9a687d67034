"""A TCP proxy in front of PostgreSQL that a test can cut and restore: the real driver sees a database that
vanishes (every open connection reset, new ones refused) and comes back on the same port. Or a blackhole: the
connections stay open and new ones are accepted, but nothing is forwarded either way (no RST, no FIN), as when
a network drops the packets or the server hangs."""

import contextlib
import socket
import struct
import threading


class TcpProxy:
    def __init__(self, *, target: tuple[str, int]):
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._blackhole = threading.Event()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuses new connections and resets every open one."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                # Linger 0: the peer gets a reset, as when a server dies, not an orderly end of stream.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with contextlib.suppress(OSError):
                # Wakes the pipe threads blocked in recv(): a bare close() would leave their socket open.
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def blackhole(self) -> None:
        """From now on every byte either way is swallowed; connections are accepted and never answered."""
        self._blackhole.set()

    def restore(self) -> None:
        """After a cut, listens again; after a blackhole, resets the connections it swallowed bytes of."""
        if self._blackhole.is_set():
            self.cut()
            self._blackhole.clear()
        self.start()

    def stop(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut: the listener was closed
            if self._blackhole.is_set():
                with self._lock:
                    self._sockets.add(client)
                threading.Thread(target=self._pipe, args=(client, None), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket | None) -> None:
        try:
            while data := source.recv(65536):
                if sink is not None and not self._blackhole.is_set():
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink) if sink is not None else (source,):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with self._lock:
                    self._sockets.discard(sock)
