# SPDX-License-Identifier: MIT
# A test upstream for tests/cli/test_egress.sh: answers every request with the request's method,
# target and fields as JSON, and adds hop-by-hop fields to its response (Connection naming
# X-Hop, X-Hop, Keep-Alive, Proxy-Note) next to an end-to-end one (X-End) so the test can see
# which ones egress passes on. Prints "listening on http://127.0.0.1:PORT" first (port 0 works).
import http.server
import json
import sys


class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        doc = {
            "method": self.command,
            "target": self.path,
            "fields": [[k.lower(), v] for k, v in self.headers.items()],
            "body_bytes": len(body),
        }
        out = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.send_header("Connection", "X-Hop")
        self.send_header("X-Hop", "secret")
        self.send_header("Keep-Alive", "timeout=5")
        self.send_header("Proxy-Note", "for the next hop only")
        self.send_header("X-End", "kept")
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
sys.exit(0)
