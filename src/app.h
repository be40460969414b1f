/* funneld — wiring the modules together for one run of the daemon. */
#ifndef FD_APP_H
#define FD_APP_H

#include <signal.h>

#include "funneld/codec.h"
#include "funneld/config.h"

/* Creates a codec with the reader schemas of conf->schema_dir and the
 * writer schemas of conf. NULL + errstr on error. */
fd_codec *fd_app_codec(const fd_config *conf, char *errstr, size_t errstr_size);

/* Connects Redis and Kafka and processes until *stop is set. When reload is
 * not NULL, setting *reload (SIGHUP) reads conf->path again and applies its
 * scoring rules and tenant settings (fd_pipeline_set_reload). Returns the
 * process exit code: 0 after a clean stop, 1 on a fatal error (reported). */
int fd_app_run(const fd_config *conf, volatile sig_atomic_t *stop,
               volatile sig_atomic_t *reload);

#endif
