/* funneld — librdkafka handles built from the config (kafka.* pass-through)
 * and the start-up check that the input topics are co-partitioned. */
#ifndef FD_KAFKA_H
#define FD_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "funneld/config.h"
#include "metrics.h"

struct fd_outbox;

/* The opaque of funneld's consumer and producer: the metrics their callbacks
 * update (may be NULL), the outboxes the producer's delivery reports go to
 * (may be NULL), and the object of the consumer's rebalance callback. */
typedef struct fd_kafka_ctx {
        fd_metrics *metrics;
        struct fd_outbox *outbox;
        void *owner;
} fd_kafka_ctx;

/* A consumer of group conf->group_id: manual offsets (Redis holds them),
 * partition EOF events on, range assignor (co-partitioned pairs go to one
 * member), statistics every 5 s (they tell ctx->metrics whether a broker
 * connection is up). rebalance_cb is installed; its opaque is ctx (borrowed).
 * NULL + errstr on error. */
rd_kafka_t *fd_kafka_consumer_new(
        const fd_config *conf,
        void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                             rd_kafka_topic_partition_list_t *, void *),
        fd_kafka_ctx *ctx, char *errstr, size_t errstr_size);

/* An idempotent producer whose opaque is ctx (borrowed): its delivery
 * callback reports to ctx->outbox and counts deliveries in ctx->metrics. */
rd_kafka_t *fd_kafka_producer_new(const fd_config *conf, fd_kafka_ctx *ctx,
                                  char *errstr, size_t errstr_size);

/* Looks up the cnt topics (NULL or "" entries skipped) in rk's metadata
 * before its first message to them, and keeps a handle of each in rkts[i]
 * (NULL when none was made), which the caller gives back with
 * fd_kafka_topics_release. Otherwise librdkafka looks a topic up only when
 * its first message comes, on a timer, and holds the topic's messages up
 * to a second meanwhile. Failures are left to the producing that follows,
 * which reports them. */
void fd_kafka_topics_warm(rd_kafka_t *rk, const char *const *topics, size_t cnt,
                          rd_kafka_topic_t **rkts);
void fd_kafka_topics_release(rd_kafka_topic_t **rkts, size_t cnt);

/* Returns the common partition count of the input topics, or -1 with a
 * message saying which topic is missing or how the counts differ. The spend
 * topic is optional: *spend is set to 1 when it is configured and exists
 * (with the same partition count), 0 when it is off or missing (warned). */
int fd_kafka_check_copartitioned(rd_kafka_t *rk, const fd_config *conf,
                                 int timeout_ms, int *spend, char *errstr,
                                 size_t errstr_size);

#endif
