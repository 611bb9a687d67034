"""`make run`'s sign-in block comes last: printed once the server answers /healthz, after everything the server
logged while starting, so a newcomer finds it at the bottom of the terminal (agencyhub/launch.py)."""

import socket
import subprocess
import sys
import textwrap

from django.conf import settings

# A stand-in server: logs a few hundred startup lines, answers /healthz only after them, then exits a moment later
# (which ends the supervision).
SERVER = textwrap.dedent(
    """
    import http.server, sys, threading, time
    for n in range(300):
        print(f"worker log line {n}", flush=True)
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()
        def log_message(self, *args):
            print("GET /healthz 200", flush=True)
    server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health)
    threading.Timer(5.0, server.shutdown).start()
    server.serve_forever()
    """
)

SUPERVISOR = textwrap.dedent(
    """
    import subprocess, sys
    from agencyhub.launch import _supervise
    port = sys.argv[1]
    server = subprocess.Popen([sys.executable, "-c", sys.argv[2], port])
    sys.exit(_supervise({"runserver": server}, f"http://127.0.0.1:{port}/healthz", "SIGN-IN BLOCK"))
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_sign_in_block_comes_after_the_servers_startup_lines():
    run = subprocess.run(
        [sys.executable, "-c", SUPERVISOR, str(_free_port()), SERVER],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = run.stdout.splitlines()
    assert "SIGN-IN BLOCK" in lines, run.stderr
    banner = lines.index("SIGN-IN BLOCK")
    assert lines.index("worker log line 299") < banner
    assert lines.index("GET /healthz 200") < banner  # printed once the server answered, not before
    assert lines[banner + 1 :] == []  # nothing the server logged lands below it
    assert "runserver" in run.stderr and run.returncode == 1  # the stand-in's exit ended the supervision
