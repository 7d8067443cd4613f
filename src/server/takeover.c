/* SPDX-License-Identifier: MIT */
/* Handing a connection over to the handler (CONNECT tunnels): the server forgets the socket
 * without closing it, as Node's 'connect' event gives the handler the socket. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "server/server_int.h"

int tether_request_take_socket(tether_request *req, uv_os_sock_t *fd, char *pending, size_t cap,
                               size_t *pending_len)
{
    if (!req || !fd || !pending_len || (cap && !pending)) {
        return TETHER_EINVAL;
    }
    struct tt__srv_conn *c = req->conn;
    if (!c) {
        return TETHER_ECANCELED;
    }
    if (!req->in_on_request || req->started || req->has_body) {
        return TETHER_EINVAL;
    }
    if (c->stream.tls) {
        return TETHER_ENOTSUP; /* the TLS session lives in this process, not in the socket */
    }
    /* Bytes the client sent after the head (it should wait for the 2xx, but may not). */
    size_t extra = c->in.len > req->head_len ? c->in.len - req->head_len : 0;
    if (extra > cap) {
        return TETHER_ETOOBIG;
    }
    uv_os_fd_t own;
    if (uv_fileno((const uv_handle_t *)&c->stream.tcp, &own) != 0) {
        return TETHER_EIO;
    }
    int copy = fcntl(own, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) {
        return tt__err_from_errno(errno);
    }
    if (extra) {
        memcpy(pending, c->in.data + req->head_len, extra);
    }
    *pending_len = extra;
    *fd = copy;
    /* The server closes its descriptor only: the socket stays open under the copy. */
    c->taken = true;
    c->req = NULL;
    req->conn = NULL;
    tt__buf_reset(&c->in);
    tt__srv_conn_close(c, TETHER_CLOSE_HANDLER_ABORT);
    tt__request_free(req);
    return 0;
}
