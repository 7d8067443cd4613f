# SPDX-License-Identifier: MIT
# A test upstream for tests/cli/test_egress.sh that loses the first response of every request:
# it reads the whole request, counts it, then resets the connection (SO_LINGER 0) instead of
# answering; the next time the same request comes (same method, path and Idempotency-Key) it
# answers 200. GET /counts returns the counts as JSON ({"POST /x key=K": n, ...}). Prints
# "listening on http://127.0.0.1:PORT" first.
import json
import socket
import struct
import sys
import threading

counts = {}
lock = threading.Lock()


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    length = int(fields.get("content-length", "0"))
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return method, target, fields


def serve(conn):
    try:
        while True:
            req = read_request(conn)
            if req is None:
                return
            method, target, fields = req
            if target == "/counts":
                with lock:
                    body = json.dumps(counts).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body)
                continue
            key = f"{method} {target} key={fields.get('idempotency-key', '-')}"
            with lock:
                counts[key] = counts.get(key, 0) + 1
                n = counts[key]
            if n == 1:
                # Lose the response: an RST after the request was read (and executed).
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    except OSError:
        pass
    finally:
        conn.close()


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
print(f"listening on http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
try:
    while True:
        c, _ = listener.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
except KeyboardInterrupt:
    pass
sys.exit(0)
