/* funneld — the consume loop: one consumer group over both input topics,
 * assignment from the offsets stored in Redis, owner epochs, an event-time
 * merge of the assigned partitions, batches through the processor, and the
 * outbox drained by an idempotent producer.
 *
 * Each co-partitioned pair (lead-events p, crm-events p) is one task: the
 * range assignor gives both halves to the same member, and the epoch of
 * partition p fences both. Messages are merged by event time across all
 * assigned partitions; a partition with nothing buffered that is not known
 * to be at its end holds the merge for up to processing.max_task_idle_ms, as
 * Kafka Streams' max.task.idle.ms does. */
#ifndef FD_PIPELINE_H
#define FD_PIPELINE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "funneld/codec.h"
#include "funneld/config.h"
#include "metrics.h"
#include "process.h"
#include "store.h"

typedef struct fd_pipeline fd_pipeline;

/* Creates the consumer and producer and checks that both input topics exist
 * and are co-partitioned. Borrows conf, codec, store and metrics (which it
 * keeps up to date). NULL + errstr on error. */
fd_pipeline *fd_pipeline_new(const fd_config *conf, fd_codec *codec,
                             fd_store *store, fd_metrics *metrics, char *errstr,
                             size_t errstr_size);

/* Consumes until *stop is set; then finishes the batch in hand, drains the
 * outbox and leaves the group. Returns 0, or -1 on a fatal error. */
int fd_pipeline_run(fd_pipeline *pl, volatile sig_atomic_t *stop);

/* While running, when *flag is set: finishes the batch in hand, reads
 * path again and, if it is valid and changes only what can change live
 * (scoring rules, tenant settings, attribution models, log level), applies
 * it from the next batch; otherwise logs why and keeps the running config.
 * Clears *flag. */
void fd_pipeline_set_reload(fd_pipeline *pl, volatile sig_atomic_t *flag,
                            const char *path);

/* What was processed so far. */
const fd_process_stats *fd_pipeline_stats(const fd_pipeline *pl);

/* Closes the consumer (leaving the group) and frees everything. */
void fd_pipeline_destroy(fd_pipeline *pl);

#endif
