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

/* Produces every entry of partition's outbox with producer rk (made by
 * fd_kafka_producer_new: its opaque counts failed deliveries) and trims
 * what was delivered. Returns the number of entries produced, or a negative
 * value (nothing lost: the entries stay for the next drain):
 * FD_OUTBOX_REDIS_FAILED when the Redis connection failed (the caller must
 * reconnect: the store's connection is unusable), FD_OUTBOX_FENCED when the
 * partition's epoch moved (another instance owns it and re-produces), -1
 * when Kafka failed. */
#define FD_OUTBOX_REDIS_FAILED (-2)
#define FD_OUTBOX_FENCED       (-3)
long fd_outbox_drain(fd_store *store, rd_kafka_t *rk, int32_t partition,
                     int64_t epoch, int flush_timeout_ms);

#endif
