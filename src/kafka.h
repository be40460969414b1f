/* funneld — librdkafka handles built from the config (kafka.* pass-through)
 * and the start-up check that the input topics are co-partitioned. */
#ifndef FD_KAFKA_H
#define FD_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "funneld/config.h"

/* A consumer of group conf->group_id: manual offsets (Redis holds them),
 * partition EOF events on, range assignor (co-partitioned pairs go to one
 * member). rebalance_cb and opaque are installed. NULL + errstr on error. */
rd_kafka_t *fd_kafka_consumer_new(
        const fd_config *conf,
        void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                             rd_kafka_topic_partition_list_t *, void *),
        void *opaque, char *errstr, size_t errstr_size);

/* An idempotent producer whose opaque is *failed (a counter of failed
 * deliveries, bumped by its delivery callback). */
rd_kafka_t *fd_kafka_producer_new(const fd_config *conf, long *failed,
                                  char *errstr, size_t errstr_size);

/* Returns the common partition count of the two input topics, or -1 with a
 * message saying which topic is missing or how the counts differ. */
int fd_kafka_check_copartitioned(rd_kafka_t *rk, const fd_config *conf,
                                 int timeout_ms, char *errstr,
                                 size_t errstr_size);

#endif
