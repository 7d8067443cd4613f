# SPDX-License-Identifier: MIT
# A test upstream for tests/cli/test_egress.sh that takes request bodies slowly: it reads each
# body (Content-Length or chunked) in 256 KiB steps at most RATE bytes per second (argument 1,
# 0 = as fast as it can), counts every byte and answers "got N". Its slowness is what makes
# egress hold the app back: a proxy without flow control would buffer the difference.
# Prints "listening on http://127.0.0.1:PORT" first.
import http.server
import sys
import time

RATE = int(sys.argv[1]) if len(sys.argv) > 1 else 0
STEP = 256 * 1024


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def take(self, n, got):
        """Reads n bytes at RATE; returns the new total."""
        while n > 0:
            step = min(n, STEP)
            data = self.rfile.read(step)
            if not data:
                raise ConnectionError("body cut")
            n -= len(data)
            got += len(data)
            if RATE:
                time.sleep(len(data) / RATE)
        return got

    def answer(self):
        got = 0
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                got = self.take(size, got)
                self.rfile.readline()
        else:
            got = self.take(int(self.headers.get("Content-Length") or 0), got)
        out = f"got {got}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_POST = do_PUT = answer

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
sys.exit(0)
