/* funneld — outbox entries: a derived event (or a DLQ copy) waiting in Redis
 * to be produced. Written in the same MULTI/EXEC as the batch that caused it,
 * produced by an idempotent producer, then trimmed (fenced by the partition's
 * epoch). A crash between produce and trim re-produces the same bytes with
 * the same event_id, which downstream consumers drop.
 *
 * Entry encoding (binary, all integers big-endian):
 *   u8 version=1 | u16 topic_len topic | i32 key_len (-1 = null) key |
 *   u32 value_len value | u16 header_cnt { u16 name_len name u32 len val } */
#ifndef FD_OUTBOX_H
#define FD_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "funneld/codec.h"
#include "store.h"

typedef struct fd_header {
        const char *name;
        const void *value;
        size_t len;
} fd_header;

/* Appends one encoded entry to out (reset first by the caller). */
int fd_outbox_encode(fd_buf *out, const char *topic, const void *key,
                     size_t key_len, const void *value, size_t value_len,
                     const fd_header *headers, size_t header_cnt);

/* The outboxes of one process, drained without waiting: each partition has
 * at most one round in flight, a prefix of its outbox produced and not yet
 * confirmed. When every delivery of a round is confirmed, the round is
 * trimmed from Redis (fenced by the partition's epoch) and the next one can
 * start. The producer's delivery callback reports to it
 * (fd_outbox_delivered; fd_kafka_ctx.outbox). */
typedef struct fd_outbox fd_outbox;

fd_outbox *fd_outbox_new(int32_t nparts);
void fd_outbox_free(fd_outbox *ob);

/* Marks every partition's outbox as possibly holding entries: called after
 * a batch committed. */
void fd_outbox_due(fd_outbox *ob);

/* Moves partition's outbox on, without blocking on Kafka: trims a round
 * whose deliveries are all confirmed, then, with entries waiting, produces the
 * next round (up to 1000 entries) with producer rk. Returns the number of
 * entries trimmed (0 when nothing was confirmed yet), or a negative value
 * (nothing lost: the entries stay for the next round): FD_OUTBOX_REDIS_FAILED
 * when the Redis connection failed (the caller must reconnect: the store's
 * connection is unusable), FD_OUTBOX_FENCED when the partition's epoch moved
 * (another instance owns it and re-produces), -1 when Kafka refused or failed a
 * delivery. */
#define FD_OUTBOX_REDIS_FAILED (-2)
#define FD_OUTBOX_FENCED       (-3)
long fd_outbox_pump(fd_outbox *ob, fd_store *store, rd_kafka_t *rk,
                    int32_t partition, int64_t epoch);

/* 1 while partition has a round in flight or entries may be waiting. */
int fd_outbox_pending(const fd_outbox *ob, int32_t partition);

/* Waits up to timeout_ms for the rounds in flight and trims those confirmed
 * (partitions[i] at epochs[i]); starts nothing new. Called before giving
 * partitions up, so that the next owner does not produce them again. */
void fd_outbox_settle(fd_outbox *ob, fd_store *store, rd_kafka_t *rk,
                      const int32_t *partitions, const int64_t *epochs,
                      size_t cnt, int timeout_ms);

/* Forgets the rounds in flight (the partitions moved, or Redis must be read
 * again): their entries stay in Redis and are produced again by the owner;
 * late delivery reports for them are ignored. Every outbox becomes due. */
void fd_outbox_forget(fd_outbox *ob);

/* The delivery callback's part: msg_opaque is the message's opaque (NULL
 * for messages that did not come from an outbox). */
void fd_outbox_delivered(fd_outbox *ob, void *msg_opaque,
                         rd_kafka_resp_err_t err);

#endif
