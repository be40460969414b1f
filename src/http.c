/* funneld — the embedded HTTP server. */
#include "http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct fd_http {
        struct MHD_Daemon *daemon;
        fd_http_route *routes;
        size_t route_cnt;
        int port;
};

int fd_http_parse_listen(const char *listen, char *host, size_t host_size,
                         int *port, char *err, size_t err_size)
{
        const char *colon = strrchr(listen, ':');
        const char *h = listen;
        size_t hlen;
        char *end;
        long p;

        if (!colon || colon == listen || !colon[1])
                goto bad;
        hlen = (size_t)(colon - listen);
        if (h[0] == '[') { /* [v6]:port */
                if (hlen < 3 || h[hlen - 1] != ']')
                        goto bad;
                h++;
                hlen -= 2;
        }
        errno = 0;
        p = strtol(colon + 1, &end, 10);
        if (errno || *end || p < 0 || p > 65535 || hlen >= host_size)
                goto bad;
        memcpy(host, h, hlen);
        host[hlen] = '\0';
        *port = (int)p;
        return 0;
bad:
        snprintf(err, err_size,
                 "http.listen must be HOST:PORT (e.g. 127.0.0.1:9464, "
                 "[::1]:9464, or 0.0.0.0:9464 to listen on every interface), "
                 "got '%s'",
                 listen);
        return -1;
}

static const char *get_arg(const fd_http_req *req, const char *name)
{
        return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
                                           name);
}

static enum MHD_Result reply(struct MHD_Connection *conn, int status,
                             const char *type, const fd_buf *body)
{
        struct MHD_Response *r = MHD_create_response_from_buffer(
                body->len, body->len ? body->data : (void *)"",
                MHD_RESPMEM_MUST_COPY);
        if (!r)
                return MHD_NO;
        MHD_add_response_header(r, "Content-Type", type);
        MHD_add_response_header(r, "Cache-Control", "no-store");
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, r);
        MHD_destroy_response(r);
        return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
        fd_http *http = cls;
        fd_buf body = {0};
        const char *type = "text/plain; charset=utf-8";
        int status = 404;
        (void)version;
        (void)upload;

        if (!*state) { /* first call: headers only */
                *state = http;
                return MHD_YES;
        }
        if (*upload_size) { /* no route reads a body: discard it */
                *upload_size = 0;
                return MHD_YES;
        }
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
                status = 405;
                fd_buf_append(&body, "only GET is served\n", 19);
        } else {
                size_t i = 0;
                while (i < http->route_cnt &&
                       strcmp(http->routes[i].path, url) != 0)
                        i++;
                if (i < http->route_cnt) {
                        fd_http_req req = {url, get_arg, conn};
                        status = http->routes[i].fn(http->routes[i].ctx, &req,
                                                    &body, &type);
                } else {
                        const char *msg = "no such page; try /metrics, "
                                          "/healthz, /readyz\n";
                        fd_buf_append(&body, msg, strlen(msg));
                }
        }
        enum MHD_Result rc = reply(conn, status, type, &body);
        fd_buf_free(&body);
        return rc;
}

fd_http *fd_http_start(const char *listen, const fd_http_route *routes,
                       size_t n, char *err, size_t err_size)
{
        char host[256];
        char port_s[16];
        int port;
        struct addrinfo hints = {0}, *ai = NULL;
        fd_http *http;
        int rc;

        if (fd_http_parse_listen(listen, host, sizeof(host), &port, err,
                                 err_size) != 0)
                return NULL;
        snprintf(port_s, sizeof(port_s), "%d", port);
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        hints.ai_socktype = SOCK_STREAM;
        rc = getaddrinfo(host, port_s, &hints, &ai);
        if (rc != 0 || !ai) {
                snprintf(err, err_size,
                         "http.listen '%s': cannot resolve '%s' (%s); use an "
                         "address such as 127.0.0.1",
                         listen, host, gai_strerror(rc));
                return NULL;
        }
        http = calloc(1, sizeof(*http));
        if (http)
                http->routes = calloc(n ? n : 1, sizeof(*routes));
        if (!http || !http->routes) {
                freeaddrinfo(ai);
                free(http);
                snprintf(err, err_size, "out of memory");
                return NULL;
        }
        memcpy(http->routes, routes, n * sizeof(*routes));
        http->route_cnt = n;
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
        if (ai->ai_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        http->daemon = MHD_start_daemon(
                flags, (uint16_t)port, NULL, NULL, on_request, http,
                MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
                (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                MHD_OPTION_END);
        int bind_errno = errno;
        freeaddrinfo(ai);
        if (!http->daemon) {
                snprintf(err, err_size,
                         "cannot listen on %s for HTTP (%s): is another "
                         "funneld or service using the port? set http.listen "
                         "to a free HOST:PORT, or to 'off'",
                         listen, strerror(bind_errno));
                fd_http_stop(http);
                return NULL;
        }
        const union MHD_DaemonInfo *info =
                MHD_get_daemon_info(http->daemon, MHD_DAEMON_INFO_BIND_PORT);
        http->port = info ? info->port : port;
        return http;
}

int fd_http_port(const fd_http *http)
{
        return http->port;
}

void fd_http_stop(fd_http *http)
{
        if (!http)
                return;
        if (http->daemon)
                MHD_stop_daemon(http->daemon);
        free(http->routes);
        free(http);
}
