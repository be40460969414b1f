/* funneld — the embedded demo: a local redis-server on a free port, an
 * in-process Kafka (librdkafka's mock cluster) unless kafka.bootstrap.servers
 * is configured, a generated event stream, funneld itself, and the live
 * funnel printed while events flow. */
#ifndef FD_DEMO_H
#define FD_DEMO_H

#include <signal.h>
#include <stdint.h>

#include "funneld/config.h"
#include "http.h"

typedef struct fd_demo_opts {
        double duration_s;           /* 0: until Ctrl-C */
        int64_t events;              /* events to generate */
        double rate;                 /* events per second */
        const fd_http_route *routes; /* served besides /metrics etc. */
        size_t route_cnt;
} fd_demo_opts;

/* Runs the demo on conf (adjusted in place: Redis and, without configured
 * brokers, Kafka point at the embedded services). Returns an exit code. */
int fd_demo_run(fd_config *conf, const fd_demo_opts *opts,
                volatile sig_atomic_t *stop);

#endif
