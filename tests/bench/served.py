"""Serving the app the production way for a bench: gunicorn sync workers on a free local port, loaded by wrk.

Debian's wrk (`apt-get install -y wrk`) is a C load generator that is not the bottleneck, unlike a Python
client. Each request's body is a template with `@CALL@` and `@TOOL@` markers that a Lua script fills with
ids unique per wrk thread and request, so no request is a duplicate of another; a non-200, or a 200 whose
body carries an `"error"` (a tool answer the caller would hear as an apology), counts as failed.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
WRK = shutil.which("wrk") or "/usr/bin/wrk"
# Gunicorn's own advice for sync workers: (2 x cores) + 1, so a worker waiting on I/O leaves the CPU to another.
WORKERS = 2 * (os.cpu_count() or 1) + 1

# What every bench's wrk script shares: threads numbered for their ids (setup), and one RESULT line of requests,
# failures (each script's response() counts its own), duration and p50 in microseconds (done), read by wrk() below.
LUA_THREADS = """
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
"""
LUA_RESULT = """
function done(summary, latency, requests)
  local failures = 0
  for _, thread in ipairs(threads) do failures = failures + thread:get("failed") end
  io.write(string.format("RESULT %d %d %d %d\\n", summary.requests, failures, summary.duration,
    latency:percentile(50)))
end
"""

LUA = (
    LUA_THREADS
    + """
function init(args)
  a, b, c, prefix, calls, failed, n = args[1], args[2], args[3], args[4], tonumber(args[5]), 0, 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Vapi-Secret"] = args[6]
  tools = args[7]
end
function request()
  n = n + 1
  local call
  if calls > 0 then call = prefix .. ((n * 7 + tid) % calls) else call = prefix .. tid .. "-" .. n end
  if c == "" then return wrk.format(nil, nil, nil, a .. call .. b) end
  return wrk.format(nil, nil, nil, a .. call .. b .. tools .. tid .. "-" .. n .. c)
end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"error"', 1, true) then failed = failed + 1 end
end
"""
    + LUA_RESULT
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_start(port: int, log, env: dict, workers: int = WORKERS) -> subprocess.Popen:
    """tests/bench/wsgi.py (the project's app with the bench URLconf) under gunicorn; returns once it answers."""
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "tests.bench.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            "--worker-class=sync",
            "--timeout=30",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 180  # workers importing Django on a busy 2-core machine can take a while
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}; see {log.name}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/bench/ping/", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"gunicorn did not answer within 180 s; see {log.name}")


def wrk(
    url: str,
    *,
    body: str,
    secret: str,
    prefix: str,
    tag: str,
    calls: int,
    connections: int,
    seconds: float,
    script: Path,
):
    """wrk posting `body` (its @CALL@ filled with `prefix` + one of `calls` numbers, or a fresh id per request
    when calls is 0; its @TOOL@ with an id made of `tag`, unique per run) for `seconds`; requests/s of the good
    answers, p50."""
    script.write_text(LUA)
    head, rest = body.split("@CALL@")
    mid, tail = rest.split("@TOOL@") if "@TOOL@" in rest else (rest, "")
    threads = min(connections, 2)
    out = subprocess.run(
        [
            WRK,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(script),
            url,
            "--",
            head,
            mid,
            tail,
            prefix,
            str(calls),
            secret,
            f"{tag}-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests, failed, micros, p50 = (int(v) for v in out.split("RESULT ")[1].split())
    return {"ok": requests - failed, "failed": failed, "seconds": micros / 1e6, "p50_us": p50}
