/* SPDX-License-Identifier: MIT */
/* Real error texts, copied from the doctor anchors §2 (one or more per catalogue row, with the
 * version drift listed there), and what explain must make of each. */
#ifndef TETHER_TEST_EXPLAIN_SAMPLES_H
#define TETHER_TEST_EXPLAIN_SAMPLES_H

struct explain_sample {
    const char *text;
    const char *id;    /* the catalogue row */
    const char *phase; /* its phase */
    unsigned top;      /* its most likely cause */
};

#define ALB_LOG(status, target)                                                                    \
    "http 2026-12-03T14:00:00.123456Z app/my-alb/50dc6c495c0c9188 10.0.0.1:46532 "                 \
    "10.0.1.5:8080 0.000 -1 -1 " status " " target " 120 277 \"GET http://x:80/ HTTP/1.1\" "       \
    "\"curl/8.5.0\" - - arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg/1 "                \
    "\"Root=1-5\" \"-\" \"-\" 0 2026-12-03T14:00:00.100000Z \"forward\" \"-\" \"-\""
#define HAPROXY_LOG(state)                                                                         \
    "Dec  3 14:00:00 lb haproxy[1234]: 10.0.0.1:51234 [03/Dec/2026:14:00:00.001] fe be/srv1 "      \
    "0/0/1/-1/2 502 0 - - " state " 1/1/0/0/0 0/0 \"GET / HTTP/1.1\""

static const struct explain_sample explain_samples[] = {
    /* §2.1 Node.js core */
    {"Error: socket hang up", "node-socket-hang-up", "wait", 1},
    {"Error: read ECONNRESET", "node-read-econnreset", "wait", 1},
    {"Error: write ECONNRESET", "node-write-econnreset", "send", 12},
    {"Error: write EPIPE", "node-write-epipe", "send", 12},
    {"Error: aborted\n    at connResetException (node:internal/errors:720:14)",
     "node-response-aborted", "body", 3},
    {"Error: connect ECONNREFUSED 127.0.0.1:8080", "node-connect-econnrefused", "connect", 3},
    {"Error: connect ETIMEDOUT 10.0.0.5:443", "node-connect-etimedout", "connect", 14},
    {"AggregateError [ETIMEDOUT]: \n    at internalConnectMultiple (node:net:1117:18)",
     "node-connect-etimedout", "connect", 14},
    {"Error: read ETIMEDOUT", "node-read-etimedout", "idle", 5},
    {"Error: getaddrinfo ENOTFOUND api.example.invalid", "node-getaddrinfo", "dns", 15},
    {"Error: getaddrinfo EAI_AGAIN db", "node-getaddrinfo", "dns", 15},
    {"Error: Client network socket disconnected before secure TLS connection was established",
     "node-tls-disconnected", "tls", 7},
    {"Error [ERR_STREAM_PREMATURE_CLOSE]: Premature close", "node-premature-close", "body", 3},
    {"Error: connect EHOSTUNREACH 10.0.0.9:443", "node-connect-unreachable", "connect", 14},
    {"Error: connect ENETUNREACH 2001:db8::1:443", "node-connect-unreachable", "connect", 14},
    /* §2.2 undici */
    {"TypeError: fetch failed", "undici-fetch-failed", "unknown", 1},
    {"SocketError: other side closed", "undici-other-side-closed", "wait", 1},
    {"SocketError: closed", "undici-socket-closed", "wait", 1},
    {"SocketError: HTTP/2: \"GOAWAY\" frame received with code 0", "undici-goaway", "wait", 13},
    {"ConnectTimeoutError: Connect Timeout Error (attempted address: h:443, timeout: 10000ms)",
     "undici-connect-timeout", "connect", 14},
    {"HeadersTimeoutError: Headers Timeout Error", "undici-headers-timeout", "wait", 4},
    {"BodyTimeoutError: Body Timeout Error", "undici-body-timeout", "body", 4},
    {"ResponseContentLengthMismatchError: Response body length does not match content-length "
     "header",
     "undici-content-length-mismatch", "body", 3},
    /* §2.3 axios and got */
    {"AxiosError: timeout of 5000ms exceeded", "axios-timeout", "wait", 11},
    {"AxiosError: timeout exceeded", "axios-timeout", "wait", 11},
    {"AxiosError: socket hang up\n    at Function.AxiosError.from", "axios-socket-hang-up", "wait",
     1},
    {"AxiosError: read ECONNRESET", "axios-econnreset", "wait", 1},
    {"AxiosError: stream has been aborted", "axios-stream-aborted", "body", 3},
    {"AxiosError: Network Error", "axios-network-error", "unknown", 14},
    {"TimeoutError: Timeout awaiting 'lookup' for 1000ms", "got-timeout-lookup", "dns", 15},
    {"TimeoutError: Timeout awaiting 'connect' for 1000ms", "got-timeout-connect", "connect", 14},
    {"TimeoutError: Timeout awaiting 'secureConnect' for 1000ms", "got-timeout-secure-connect",
     "tls", 7},
    {"TimeoutError: Timeout awaiting 'socket' for 1000ms", "got-timeout-socket", "idle", 11},
    {"TimeoutError: Timeout awaiting 'send' for 1000ms", "got-timeout-send", "send", 11},
    {"TimeoutError: Timeout awaiting 'response' for 1000ms", "got-timeout-response", "wait", 11},
    {"TimeoutError: Timeout awaiting 'read' for 1000ms", "got-timeout-read", "body", 11},
    {"TimeoutError: Timeout awaiting 'request' for 5000ms", "got-timeout-request", "wait", 11},
    /* §2.4 curl, with its wording changes */
    {"curl: (52) Empty reply from server", "curl-empty-reply", "wait", 16},
    {"curl: (56) Recv failure: Connection reset by peer", "curl-recv-failure", "wait", 3},
    {"curl: (56) Recv failure: Connection was reset", "curl-recv-failure", "wait", 3},
    {"curl: (56) OpenSSL SSL_read: error:0A000126:SSL routines::unexpected eof while reading, "
     "errno 0",
     "curl-ssl-read", "body", 3},
    {"curl: (56) Connection closed abruptly", "curl-ssl-read", "body", 3},
    {"curl: (55) Send failure: Broken pipe", "curl-send-failure", "send", 12},
    {"curl: (55) Send failure: Connection reset by peer", "curl-send-failure", "send", 12},
    {"curl: (55) Connection died, tried 5 times before giving up", "curl-connection-died", "wait",
     1},
    {"* Connection died, retrying a fresh connect (retry count: 1)", "curl-verbose-replay", "wait",
     1},
    {"* Connection 0 seems to be dead, terminating", "curl-verbose-replay", "wait", 1},
    {"curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to h:443", "curl-ssl-connect",
     "tls", 7},
    {"curl: (35) TLS connect error: error:0A000410:SSL routines::sslv3 alert handshake failure",
     "curl-ssl-connect", "tls", 7},
    {"curl: (7) Failed to connect to h port 443 after 3 ms: Connection refused",
     "curl-connect-failed", "connect", 3},
    {"curl: (7) Failed to connect to h:443 after 3 ms: Could not connect to server",
     "curl-connect-failed", "connect", 3},
    {"curl: (7) Couldn't connect to server", "curl-connect-failed", "connect", 3},
    {"curl: (28) Connection timed out after 10001 milliseconds", "curl-connect-timeout", "connect",
     14},
    {"curl: (28) Resolving timed out after 5000 milliseconds", "curl-resolve-timeout", "dns", 15},
    {"curl: (28) Operation timed out after 30000 milliseconds with 0 bytes received",
     "curl-operation-timeout-wait", "wait", 4},
    {"curl: (28) Operation timed out after 30000 milliseconds with 0 out of 512 bytes received",
     "curl-operation-timeout-wait", "wait", 4},
    {"curl: (28) Operation timed out after 30000 milliseconds with 2048 out of 9000 bytes "
     "received",
     "curl-operation-timeout-body", "body", 4},
    {"curl: (18) transfer closed with 1024 bytes remaining to read", "curl-transfer-closed", "body",
     3},
    {"curl: (18) transfer closed with outstanding read data remaining", "curl-transfer-closed",
     "body", 3},
    {"curl: (92) HTTP/2 stream 1 was not closed cleanly: INTERNAL_ERROR (err 2)",
     "curl-http2-stream-reset", "body", 3},
    {"curl: (92) HTTP/2 stream 1 reset by server (error 0x2 INTERNAL_ERROR)",
     "curl-http2-stream-reset", "body", 3},
    {"curl: (92) HTTP/2 stream 3 was closed cleanly, but before getting all response header "
     "fields, treated as error",
     "curl-http2-early-close", "headers", 3},
    {"curl: (6) Could not resolve host: example.invalid", "curl-resolve", "dns", 15},
    /* §2.5 Python */
    {"ConnectionResetError: [Errno 104] Connection reset by peer", "python-connection-reset",
     "wait", 1},
    {"ConnectionResetError: [WinError 10054] An existing connection was forcibly closed by the "
     "remote host",
     "python-connection-reset", "wait", 1},
    {"BrokenPipeError: [Errno 32] Broken pipe", "python-broken-pipe", "send", 12},
    {"http.client.RemoteDisconnected: Remote end closed connection without response",
     "python-remote-disconnected", "wait", 1},
    {"requests.exceptions.ConnectionError: ('Connection aborted.', RemoteDisconnected('Remote "
     "end closed connection without response'))",
     "requests-aborted-disconnected", "wait", 1},
    {"requests.exceptions.ConnectionError: ('Connection aborted.', ConnectionResetError(104, "
     "'Connection reset by peer'))",
     "requests-aborted-reset", "wait", 1},
    {"urllib3.exceptions.ProtocolError: ('Connection broken: IncompleteRead(0 bytes read, 512 "
     "more expected)', IncompleteRead(0 bytes read, 512 more expected))",
     "requests-connection-broken", "body", 3},
    {"requests.exceptions.ChunkedEncodingError: ...", "requests-connection-broken", "body", 3},
    {"HTTPSConnectionPool(host='h', port=443): Max retries exceeded with url: /p (Caused by "
     "NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to "
     "establish a new connection: [Errno 111] Connection refused'))",
     "requests-new-connection", "connect", 3},
    {"(Caused by ConnectTimeoutError(<urllib3.connection.HTTPSConnection object>, 'Connection to "
     "h timed out. (connect timeout=5)'))",
     "requests-connect-timeout", "connect", 14},
    {"ReadTimeoutError(\"HTTPSConnectionPool(host='h', port=443): Read timed out. (read "
     "timeout=10)\")",
     "requests-read-timeout", "wait", 4},
    {"SSLError(SSLEOFError(8, '[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of "
     "protocol (_ssl.c:1006)'))",
     "python-ssl-eof", "tls", 7},
    {"DEBUG:urllib3.connectionpool:Resetting dropped connection: api.example.com",
     "urllib3-resetting-dropped", "idle", 1},
    {"WARNING:urllib3.connectionpool:Retrying (Retry(total=2, connect=None, read=None, "
     "redirect=None, status=None)) after connection broken by 'ProtocolError('Connection "
     "aborted.', RemoteDisconnected('Remote end closed connection without response'))': /path",
     "urllib3-retrying", "wait", 1},
    {"aiohttp.client_exceptions.ServerDisconnectedError: Server disconnected",
     "aiohttp-server-disconnected", "wait", 1},
    {"aiohttp.client_exceptions.ClientOSError: [Errno 104] Connection reset by peer",
     "aiohttp-os-error-reset", "wait", 1},
    {"aiohttp.client_exceptions.ClientPayloadError: Response payload is not completed: "
     "<TransferEncodingError: 400>",
     "aiohttp-payload", "body", 3},
    {"aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host h:443 ssl:default "
     "[Connection refused]",
     "aiohttp-cannot-connect", "connect", 3},
    {"aiohttp.client_exceptions.ClientConnectionError: Connection closed",
     "aiohttp-connection-closed", "unknown", 1},
    {"aiohttp.client_exceptions.ClientOSError: Connection lost: [Errno 104] Connection reset by "
     "peer",
     "aiohttp-os-error-reset", "wait", 1},
    {"Connection lost: [Errno 32] Broken pipe", "aiohttp-connection-closed", "unknown", 1},
    {"httpx.RemoteProtocolError: Server disconnected without sending a response.",
     "httpx-server-disconnected", "wait", 1},
    /* §2.6 Go */
    {"Post \"https://h/p\": read tcp 10.0.0.2:51234->10.0.0.9:443: read: connection reset by "
     "peer",
     "go-read-reset", "wait", 1},
    {"Get \"https://h/\": read tcp 10.0.0.2:5->10.0.0.9:443: wsarecv: An existing connection was "
     "forcibly closed by the remote host.",
     "go-read-reset", "wait", 1},
    {"Post \"https://h/p\": write tcp 10.0.0.2:51234->10.0.0.9:443: write: broken pipe",
     "go-write-broken-pipe", "send", 12},
    {"Get \"https://h/\": EOF", "go-eof", "wait", 1},
    {"Post \"https://h/p\": http: server closed idle connection", "go-server-closed-idle", "idle",
     1},
    {"net/http: HTTP/1.x transport connection broken: write tcp: broken pipe",
     "go-transport-broken", "wait", 1},
    {"unexpected EOF", "go-unexpected-eof", "body", 3},
    {"dial tcp 10.0.0.9:443: connect: connection refused", "go-dial-refused", "connect", 3},
    {"dial tcp 10.0.0.9:443: connectex: No connection could be made because the target machine "
     "actively refused it.",
     "go-dial-refused", "connect", 3},
    {"dial tcp 10.0.0.9:443: i/o timeout", "go-dial-timeout", "connect", 14},
    {"Get \"https://h/\": context deadline exceeded (Client.Timeout exceeded while awaiting "
     "headers)",
     "go-client-timeout", "wait", 11},
    {"Get \"https://h/\": net/http: request canceled (Client.Timeout exceeded while awaiting "
     "headers)",
     "go-client-timeout", "wait", 11},
    {"net/http: request canceled while waiting for connection (Client.Timeout exceeded while "
     "awaiting headers)",
     "go-client-timeout", "wait", 11},
    {"net/http: timeout awaiting response headers", "go-response-header-timeout", "wait", 4},
    {"net/http: TLS handshake timeout", "go-tls-handshake-timeout", "tls", 7},
    {"http2: client connection lost", "go-h2-connection-lost", "idle", 5},
    {"http2: server sent GOAWAY and closed the connection; LastStreamID=19999, ErrCode=NO_ERROR, "
     "debug=\"\"",
     "go-h2-goaway", "wait", 13},
    {"read tcp 127.0.0.1:5->127.0.0.1:8: use of closed network connection",
     "go-closed-network-connection", "unknown", 11},
    {"dial tcp: lookup h on 10.0.0.2:53: no such host", "go-no-such-host", "dns", 15},
    /* §2.7 JVM */
    {"java.net.SocketException: Connection reset", "jdk-connection-reset", "wait", 1},
    {"java.net.SocketException: Connection reset by peer", "jdk-reset-by-peer", "send", 12},
    {"java.io.IOException: Connection reset by peer", "jdk-reset-by-peer", "send", 12},
    {"java.net.SocketException: Broken pipe (Write failed)", "jdk-broken-pipe", "send", 12},
    {"java.net.ConnectException: Connection refused (Connection refused)", "jdk-connection-refused",
     "connect", 3},
    {"java.net.SocketTimeoutException: connect timed out", "jdk-connect-timed-out", "connect", 14},
    {"java.net.SocketTimeoutException: Read timed out", "jdk-read-timed-out", "wait", 4},
    {"javax.net.ssl.SSLHandshakeException: Remote host terminated the handshake",
     "jdk-ssl-handshake", "tls", 7},
    {"javax.net.ssl.SSLHandshakeException: Remote host closed connection during handshake",
     "jdk-ssl-handshake", "tls", 7},
    {"java.io.IOException: HTTP/1.1 header parser received no bytes", "jdk-httpclient-no-bytes",
     "wait", 1},
    {"java.io.IOException: unexpected end of stream on http://h/...",
     "okhttp-unexpected-end-status", "wait", 1},
    {"java.net.ProtocolException: unexpected end of stream", "okhttp-unexpected-end-body", "body",
     3},
    {"okhttp3.internal.http2.StreamResetException: stream was reset: REFUSED_STREAM",
     "okhttp-stream-reset", "wait", 3},
    {"org.apache.hc.core5.http.NoHttpResponseException: h:443 failed to respond",
     "apache-no-http-response", "wait", 1},
    {"org.apache.http.NoHttpResponseException: The target server failed to respond",
     "apache-no-http-response", "wait", 1},
    {"org.apache.hc.core5.http.ConnectionClosedException: Premature end of Content-Length "
     "delimited message body (expected: 100; received: 10)",
     "apache-premature-end", "body", 3},
    {"INFO o.a.h.c.h.i.c.HttpRequestRetryExec - Recoverable I/O exception "
     "(org.apache.hc.core5.http.NoHttpResponseException) caught when sending request to h; "
     "request will be automatically re-executed in 1 SECONDS (exec count 2)",
     "apache-re-executed", "wait", 1},
    {"reactor.netty.http.client.PrematureCloseException: Connection prematurely closed BEFORE "
     "response",
     "netty-premature-before", "wait", 1},
    {"reactor.netty.http.client.PrematureCloseException: Connection prematurely closed DURING "
     "response",
     "netty-premature-during", "body", 3},
    {"io.netty.channel.unix.Errors$NativeIoException: recvAddress(..) failed: Connection reset by "
     "peer",
     "netty-native-reset", "wait", 1},
    {"org.postgresql.util.PSQLException: An I/O error occurred while sending to the backend.",
     "pgjdbc-io-error", "send", 8},
    /* §2.8 .NET */
    {"System.Net.Http.HttpRequestException: An error occurred while sending the request.",
     "dotnet-sending-request", "unknown", 1},
    {"System.IO.IOException: Unable to read data from the transport connection: An existing "
     "connection was forcibly closed by the remote host.",
     "dotnet-transport-read", "wait", 1},
    {"System.Net.Http.HttpIOException: The response ended prematurely. (ResponseEnded)",
     "dotnet-response-ended", "wait", 1},
    {"The SSL connection could not be established, see inner exception.", "dotnet-ssl", "tls", 7},
    {"System.IO.IOException: Received an unexpected EOF or 0 bytes from the transport stream.",
     "dotnet-ssl", "tls", 7},
    {"System.Threading.Tasks.TaskCanceledException: The request was canceled due to the "
     "configured HttpClient.Timeout of 100 seconds elapsing.",
     "dotnet-timeout", "wait", 11},
    {"The underlying connection was closed: A connection that was expected to be kept alive was "
     "closed by the server.",
     "dotnet-kept-alive-closed", "wait", 1},
    {"No connection could be made because the target machine actively refused it. "
     "(localhost:5001)",
     "dotnet-actively-refused", "connect", 3},
    {"Npgsql.NpgsqlException (0x80004005): Exception while reading from stream",
     "npgsql-reading-stream", "wait", 8},
    /* §2.9 other clients */
    {"hyper::Error(IncompleteMessage): connection closed before message completed",
     "hyper-incomplete-message", "wait", 1},
    {"%Mint.TransportError{reason: :closed}", "mint-closed", "wait", 1},
    /* §2.10 databases */
    {"server closed the connection unexpectedly\n\tThis probably means the server terminated "
     "abnormally\n\tbefore or while processing the request.",
     "libpq-server-closed", "wait", 8},
    {"SQLSTATE[HY000]: General error: 7 SSL SYSCALL error: EOF detected", "libpq-ssl-syscall-eof",
     "wait", 5},
    {"could not receive data from server: Connection reset by peer", "libpq-could-not-receive",
     "wait", 8},
    {"could not send data to server: Broken pipe", "libpq-could-not-send", "send", 8},
    {"SSL connection has been closed unexpectedly", "libpq-ssl-closed", "wait", 8},
    {"FATAL:  terminating connection due to idle-session timeout", "pg-idle-session-timeout",
     "idle", 8},
    {"FATAL:  terminating connection due to idle-in-transaction timeout", "pg-idle-session-timeout",
     "idle", 8},
    {"FATAL:  terminating connection due to administrator command", "pg-administrator-command",
     "idle", 3},
    {"Error: Connection terminated unexpectedly", "node-postgres-terminated", "idle", 8},
    {"Error: timeout exceeded when trying to connect", "node-postgres-connect-timeout", "connect",
     6},
    {"Error: Connection terminated due to connection timeout", "node-postgres-connect-timeout",
     "connect", 6},
    {"Error: Connection lost: The server closed the connection.", "mysql-connection-lost", "idle",
     8},
    {"ERROR 2006 (HY000): MySQL server has gone away", "mysql-gone-away", "send", 8},
    {"ERROR 2013 (HY000): Lost connection to MySQL server during query", "mysql-lost-during-query",
     "wait", 8},
    /* §2.11 nginx */
    {"2026/12/03 14:00:00 [error] 31#31: *1 upstream prematurely closed connection while reading "
     "response header from upstream, client: 10.0.0.1, server: _, request: \"GET / HTTP/1.1\", "
     "upstream: \"http://10.0.0.2:8080/\"",
     "nginx-premature-header", "upstream-wait", 2},
    {"2026/12/03 14:00:00 [error] 31#31: *1 recv() failed (104: Connection reset by peer) while "
     "reading response header from upstream, client: 10.0.0.1",
     "nginx-reset-header", "upstream-wait", 2},
    {"upstream prematurely closed connection while reading upstream", "nginx-premature-body",
     "upstream-body", 3},
    {"upstream timed out (110: Connection timed out) while reading response header from upstream",
     "nginx-upstream-timeout", "upstream-wait", 4},
    {"connect() failed (111: Connection refused) while connecting to upstream",
     "nginx-connect-refused", "upstream-connect", 3},
    {"writev() failed (32: Broken pipe) while sending request to upstream", "nginx-send-upstream",
     "upstream-send", 2},
    {"send() failed (104: Connection reset by peer) while sending request to upstream",
     "nginx-send-upstream", "upstream-send", 2},
    {"no live upstreams while connecting to upstream", "nginx-no-live-upstreams",
     "upstream-connect", 3},
    {"upstream sent no valid HTTP/1.0 header while reading response header from upstream",
     "nginx-invalid-header", "upstream-headers", 16},
    {"peer closed connection in SSL handshake while SSL handshaking to upstream",
     "nginx-ssl-handshake", "upstream-tls", 7},
    {"client prematurely closed connection while sending to client", "nginx-client-closed",
     "downstream", 11},
    /* AWS ALB access logs, GCP, Cloudflare */
    {ALB_LOG("502", "-"), "alb-502-target-closed", "upstream-wait", 2},
    {ALB_LOG("504", "-"), "alb-504", "upstream-wait", 4},
    {ALB_LOG("460", "-"), "alb-460", "downstream", 11},
    {ALB_LOG("408", "-"), "alb-408", "downstream", 11},
    {ALB_LOG("000", "-"), "alb-000", "downstream", 13},
    {"jsonPayload.statusDetails: \"backend_connection_closed_before_data_sent_to_client\"",
     "gcp-closed-before-data", "upstream-wait", 2},
    {"statusDetails: failed_to_connect_to_backend", "gcp-failed-to-connect", "upstream-connect", 3},
    {"statusDetails: backend_timeout", "gcp-backend-timeout", "upstream-wait", 4},
    {"statusDetails: client_disconnected_before_any_response", "gcp-client-disconnected",
     "downstream", 11},
    {"error code: 520", "cloudflare-520", "upstream-wait", 2},
    {"Error 521 Ray ID: 1 - Web server is down", "cloudflare-521", "upstream-connect", 3},
    {"Error 522 Connection timed out", "cloudflare-522", "upstream-connect", 14},
    {"error code: 524", "cloudflare-524", "upstream-wait", 4},
    /* Envoy / Istio */
    {"upstream connect error or disconnect/reset before headers. reset reason: connection "
     "termination",
     "envoy-connection-termination", "upstream-wait", 2},
    {"\"GET / HTTP/1.1\" 503 UC upstream_reset_before_response_started{connection_termination}",
     "envoy-connection-termination", "upstream-wait", 2},
    {"upstream connect error or disconnect/reset before headers. reset reason: remote connection "
     "failure, transport failure reason: delayed connect error: 111",
     "envoy-connection-failure", "upstream-connect", 3},
    {"upstream connect error or disconnect/reset before headers. reset reason: connection failure",
     "envoy-connection-failure", "upstream-connect", 3},
    {"upstream connect error or disconnect/reset before headers. reset reason: connection "
     "failure, transport failure reason: TLS_error:|268435703:SSL "
     "routines:OPENSSL_internal:WRONG_VERSION_NUMBER",
     "envoy-tls-failure", "upstream-tls", 7},
    {"upstream connect error or disconnect/reset before headers. retried and the latest reset "
     "reason: connection termination",
     "envoy-retried", "upstream-wait", 2},
    {"upstream connect error or disconnect/reset before headers. reset reason: overflow",
     "envoy-overflow", "upstream-connect", 6},
    {"upstream connect error or disconnect/reset before headers. reset reason: remote reset",
     "envoy-stream-reset", "upstream-wait", 3},
    {"upstream connect error or disconnect/reset before headers. reset reason: protocol error",
     "envoy-stream-reset", "upstream-wait", 3},
    {"no healthy upstream", "envoy-no-healthy-upstream", "upstream-connect", 3},
    {"upstream request timeout", "envoy-request-timeout", "upstream-wait", 4},
    {"\"GET / HTTP/1.1\" 200 UR upstream_reset_after_response_started{remote_reset}",
     "envoy-reset-after-start", "upstream-body", 3},
    {"\"GET / HTTP/1.1\" 0 DC downstream_remote_disconnect", "envoy-downstream-disconnect",
     "downstream", 11},
    /* HAProxy termination states */
    {HAPROXY_LOG("SH--"), "haproxy-SH", "upstream-headers", 2},
    {HAPROXY_LOG("SD--"), "haproxy-SD", "upstream-body", 3},
    {HAPROXY_LOG("SC--"), "haproxy-SC", "upstream-connect", 3},
    {HAPROXY_LOG("sC--"), "haproxy-sC", "upstream-connect", 14},
    {HAPROXY_LOG("sH--"), "haproxy-sH", "upstream-wait", 4},
    {HAPROXY_LOG("sD--"), "haproxy-sD", "upstream-body", 5},
    {HAPROXY_LOG("CD--"), "haproxy-CD", "downstream", 11},
    {HAPROXY_LOG("cD--"), "haproxy-cD", "downstream", 5},
    {HAPROXY_LOG("CH--"), "haproxy-CH", "downstream", 11},
    {HAPROXY_LOG("CR--"), "haproxy-CR", "downstream", 11},
    {HAPROXY_LOG("cR--"), "haproxy-cR", "downstream", 11},
    {HAPROXY_LOG("PH--"), "haproxy-PH", "upstream-headers", 16},
    {HAPROXY_LOG("sQNN"), "haproxy-sQ", "upstream-connect", 6},
};

#endif
