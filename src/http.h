/* funneld — the embedded HTTP server (libmicrohttpd): /metrics, /healthz,
 * /readyz and whatever routes the app adds (the JSON API, the dashboard).
 *
 * Requests are served on libmicrohttpd's own thread, one at a time; a
 * route's function must therefore only touch thread-safe state (fd_metrics)
 * or state of its own. Only GET and HEAD are served. */
#ifndef FD_HTTP_H
#define FD_HTTP_H

#include <stddef.h>

#include "funneld/codec.h"

typedef struct fd_http fd_http;

/* What a route answers: the body is appended to *body; *type is a static
 * content type ("application/json", ...). Returns the HTTP status. arg()
 * looks up a query argument of the request (NULL when absent). */
typedef struct fd_http_req {
        const char *path;
        const char *(*arg)(const struct fd_http_req *req, const char *name);
        void *conn; /* for arg() */
} fd_http_req;

typedef int (*fd_http_fn)(void *ctx, const fd_http_req *req, fd_buf *body,
                          const char **type);

typedef struct fd_http_route {
        const char *path; /* exact match */
        fd_http_fn fn;
        void *ctx;
} fd_http_route;

/* Parses "HOST:PORT" ("127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464";
 * port 0 = any free port). Returns 0, or -1 with a message in err. */
int fd_http_parse_listen(const char *listen, char *host, size_t host_size,
                         int *port, char *err, size_t err_size);

/* Starts serving routes[0..n) (copied) on listen. Returns a server owned by
 * the caller (fd_http_stop), or NULL with a message in err. */
fd_http *fd_http_start(const char *listen, const fd_http_route *routes,
                       size_t n, char *err, size_t err_size);

/* The TCP port actually bound (useful with port 0). */
int fd_http_port(const fd_http *http);

/* Stops serving (waits for a request in progress) and frees the server. */
void fd_http_stop(fd_http *http);

#endif
