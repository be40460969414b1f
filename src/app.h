/* funneld — wiring the modules together for one run of the daemon. */
#ifndef FD_APP_H
#define FD_APP_H

#include <signal.h>

#include "funneld/codec.h"
#include "funneld/config.h"
#include "http.h"

/* How one run is driven: the stop flag (SIGTERM), the reload flag (SIGHUP;
 * NULL = no reloading) and HTTP routes served besides /metrics, /healthz
 * and /readyz (the JSON API and dashboard; may be none). */
typedef struct fd_app_opts {
        volatile sig_atomic_t *stop;
        volatile sig_atomic_t *reload;
        const fd_http_route *routes;
        size_t route_cnt;
} fd_app_opts;

/* Creates a codec with the reader schemas of conf->schema_dir and the
 * writer schemas of conf. NULL + errstr on error. */
fd_codec *fd_app_codec(const fd_config *conf, char *errstr, size_t errstr_size);

/* Connects Redis and Kafka and processes until *opts->stop is set. When
 * opts->reload is not NULL, setting it (SIGHUP) reads conf->path again and
 * applies its scoring rules and tenant settings (fd_pipeline_set_reload).
 * Returns the process exit code: 0 after a clean stop, 1 on a fatal error
 * (reported). */
int fd_app_run(const fd_config *conf, const fd_app_opts *opts);

#endif
