# SPDX-License-Identifier: MIT
# Python requests (a keep-alive Session) through `tether egress` in forward mode (a proxy URL, as
# HTTP_PROXY sets it) to an upstream that closes idle connections with no hint. Run by
# tests/cli/test_egress.sh:
#
#   python3 egress_python.py UPSTREAM_PORT EGRESS_PORT
#
# The race is forced by an event: after a first request the script waits until the upstream's
# side of every connection has left ESTABLISHED (its FIN went out and was acknowledged), then
# reuses its pooled connection to egress, whose own upstream connection is now closed. Direct,
# urllib3 polls a pooled socket before reusing it and notices this FIN itself, so only the
# egress path is asserted: every request succeeds. Prints one line per case and
# "posts_ok N" (POSTs that succeeded, for the upstream's execution count); exits 0 on success.
import os
import sys
import time

import requests

up_port, eg_port = int(sys.argv[1]), int(sys.argv[2])
multiplier = max(1, int(os.environ.get("TETHER_TEST_TIMEOUT_MULTIPLIER") or 1))


def upstream_states():
    states = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as fh:
                lines = fh.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 3 and int(cols[1].rsplit(":", 1)[1], 16) == up_port and cols[3] != "0A":
                states.append(cols[3])
    return states


def wait_upstream_closed():
    limit = time.monotonic() + 11 * multiplier
    while time.monotonic() < limit:
        states = upstream_states()
        if "01" not in states and "04" not in states:
            return True
        time.sleep(0.002)
    return False


def run(method):
    s = requests.Session()
    s.proxies = {"http": f"http://127.0.0.1:{eg_port}"}
    url = f"http://127.0.0.1:{up_port}/orders"
    data = b"order=1" if method == "POST" else None
    timeout = 5 * multiplier
    try:
        first = s.request(method, url, data=data, timeout=timeout)
        if not wait_upstream_closed():
            return "the upstream never closed", False, first.status_code == 200, False
        try:
            second = s.request(method, url, data=data, timeout=timeout)
            return f"second {second.status_code}", True, first.status_code == 200, second.status_code == 200
        except requests.exceptions.ConnectionError as e:
            return f"second ConnectionError: {e.__context__ or e}", True, first.status_code == 200, False
    finally:
        s.close()


good = True
posts_ok = 0
for method in ("GET", "POST"):
    text, closed, first_ok, second_ok = run(method)
    print(f"python egress {method}: first {'200' if first_ok else 'failed'}; {text}")
    if method == "POST":
        posts_ok += first_ok + second_ok
    good = good and closed and first_ok and second_ok
print(f"posts_ok {posts_ok}")
sys.exit(0 if good else 1)
