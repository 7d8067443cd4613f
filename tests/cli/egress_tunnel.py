# SPDX-License-Identifier: MIT
# A raw client of a CONNECT tunnel through `tether egress`, for tests/cli/test_egress.sh: opens
# the tunnel to 127.0.0.1:ORIGIN_PORT, sends one HTTP request through it, reads the response,
# then waits for the origin to close the idle connection and prints how that close arrived:
# "eof" (a FIN, passed on as a FIN) or "reset" (an RST, passed on as an RST).
#
#   python3 egress_tunnel.py EGRESS_PORT ORIGIN_PORT
import os
import socket
import sys

eg_port, origin_port = int(sys.argv[1]), int(sys.argv[2])
multiplier = max(1, int(os.environ.get("TETHER_TEST_TIMEOUT_MULTIPLIER") or 1))

s = socket.create_connection(("127.0.0.1", eg_port), timeout=10 * multiplier)
s.sendall(f"CONNECT 127.0.0.1:{origin_port} HTTP/1.1\r\nHost: 127.0.0.1:{origin_port}\r\n\r\n".encode())
head = b""
while b"\r\n\r\n" not in head:
    chunk = s.recv(4096)
    if not chunk:
        print("closed before the CONNECT answer")
        sys.exit(1)
    head += chunk
if not head.startswith(b"HTTP/1.1 200"):
    print("CONNECT answered: " + head.split(b"\r\n")[0].decode())
    sys.exit(1)
s.sendall(b"GET / HTTP/1.1\r\nHost: origin\r\n\r\n")
got = b""
while b"ok\n" not in got:
    chunk = s.recv(4096)
    if not chunk:
        print("closed before the response")
        sys.exit(1)
    got += chunk
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            print("eof")
            break
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("timeout")
sys.exit(0)
