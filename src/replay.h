/* funneld — re-scoring replays (replay.readers_prefix).
 *
 * A replay is a funneld with new rules, its own redis.prefix N and its own
 * consumer group, next to the live one (prefix R). It builds its state from
 * the earliest offsets without publishing derived events. Once its stored
 * offsets reach the input topics' end offsets of a moment before, it writes
 * the hash R:active (prefix N, group, switched_at): readers of R (funnelctl,
 * the JSON API, dashboards that follow docs/REDIS.md) read N from then on,
 * and the replay publishes its derived events like a live instance. */
#ifndef FD_REPLAY_H
#define FD_REPLAY_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

#include "store.h"

typedef struct fd_replay fd_replay;

/* NULL (and no error) when conf sets no replay.readers_prefix. Otherwise a
 * replay owned by the caller; NULL with errstr set when the live namespace
 * holds offsets of this consumer group (the replay needs its own). */
fd_replay *fd_replay_new(const fd_config *conf, fd_store *store, char *errstr,
                         size_t errstr_size, int *failed);
void fd_replay_destroy(fd_replay *rp);

/* 1 once readers were switched to this replay's namespace (also when an
 * earlier run of it did). */
int fd_replay_switched(const fd_replay *rp);

/* Called about every second until switched: switches when the offsets
 * stored in Redis reached every input partition's end offset taken at the
 * previous call, then takes the end offsets again. topics: the ntopics
 * input topic names, nparts partitions each. 1 when it switched now, 0
 * when not yet, -1 on a Redis or Kafka error (tried again later). */
int fd_replay_check(fd_replay *rp, rd_kafka_t *consumer,
                    const char *const *topics, int ntopics, int32_t nparts);

#endif
