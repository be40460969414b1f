/* funneld — what the daemon did and how it is doing, for /metrics, /healthz
 * and /readyz.
 *
 * One fd_metrics per run, created by the app and handed to the pipeline
 * (the writer) and the HTTP server (the reader, another thread). Every
 * function is thread-safe: one mutex guards the whole struct; the writer
 * takes it a few times per batch, the reader once per scrape. */
#ifndef FD_METRICS_H
#define FD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "funneld/codec.h"

typedef struct fd_metrics fd_metrics;

/* What became of an input message. */
typedef enum fd_outcome {
        FD_OUTCOME_APPLIED = 0,
        FD_OUTCOME_DUPLICATE,
        FD_OUTCOME_DLQ,
        FD_OUTCOME__COUNT
} fd_outcome;

/* The external services funneld depends on. */
typedef enum fd_component {
        FD_COMP_REDIS = 0,
        FD_COMP_KAFKA,
        FD_COMP__COUNT
} fd_component;

/* Returns a context owned by the caller (fd_metrics_destroy); NULL when out
 * of memory. group is copied. Both components start "unknown" (not up). */
fd_metrics *fd_metrics_new(const char *group);
void fd_metrics_destroy(fd_metrics *m);

/* Input messages of topic (index 0 lead events, 1 CRM events, 2 spend;
 * names set by fd_metrics_set_topics, a NULL name is not shown) counted under
 * outcome. */
void fd_metrics_set_topics(fd_metrics *m, const char *const *names);
void fd_metrics_count_in(fd_metrics *m, int topic, fd_outcome outcome,
                         int64_t n);
/* A DLQ record by reason (fd_decode_err). */
void fd_metrics_count_dlq(fd_metrics *m, fd_decode_err reason);
/* A derived or DLQ record delivered to topic (copied on first sight). */
void fd_metrics_count_out(fd_metrics *m, const char *topic);
/* One committed batch: its events and how long the atomic write took. */
void fd_metrics_batch(fd_metrics *m, size_t events, double commit_seconds);
/* A refused commit (another instance owns the partitions). */
void fd_metrics_fenced(fd_metrics *m);

/* funneld_event_age_seconds: from an input message's Kafka timestamp to its
 * batch committed in Redis. The writer counts a batch's ages in an
 * fd_age_counts (fd_age_add, no lock) and hands them over once
 * (fd_metrics_event_ages). */
#define FD_AGE_BUCKETS 15
#define FD_AGE_CAP_MS  (INT64_C(1) << 31) /* ~25 days: older counts so */
extern const uint32_t fd_age_bounds_ms[FD_AGE_BUCKETS];
typedef struct fd_age_counts {
        int64_t counts[FD_AGE_BUCKETS + 1]; /* [FD_AGE_BUCKETS]: +Inf */
        int64_t sum_ms;
} fd_age_counts;

static inline void fd_age_add(fd_age_counts *a, uint32_t age_ms)
{
        size_t b = 0;
        while (b < FD_AGE_BUCKETS && age_ms > fd_age_bounds_ms[b])
                b++;
        a->counts[b]++;
        a->sum_ms += age_ms;
}

void fd_metrics_event_ages(fd_metrics *m, const fd_age_counts *a);

/* A component's state: up, or down with why (copied, may be NULL). Errors
 * are counted whether or not the state changes. */
void fd_metrics_up(fd_metrics *m, fd_component c);
void fd_metrics_down(fd_metrics *m, fd_component c, const char *why);
void fd_metrics_count_error(fd_metrics *m, fd_component c);

/* The consume loop is alive (called every iteration). */
void fd_metrics_heartbeat(fd_metrics *m);
/* The group assigned us parts[0..n) (n may be 0); replaces the partition
 * table (lags unknown until set). */
void fd_metrics_assigned(fd_metrics *m, const int32_t *parts, size_t n);
/* Lag of input topic (index as above) partition, and outbox depth of a
 * partition; -1 = unknown. */
void fd_metrics_set_lag(fd_metrics *m, int topic, int32_t partition,
                        int64_t lag);
void fd_metrics_set_outbox(fd_metrics *m, int32_t partition, int64_t depth);
/* Shutting down: not ready any more. */
void fd_metrics_stopping(fd_metrics *m);

/* Appends the Prometheus text exposition (format 0.0.4) to out. Returns 0
 * or -1 when out of memory. */
int fd_metrics_render(fd_metrics *m, fd_buf *out);

/* Appends the health document (JSON) to out and returns the HTTP status:
 * readiness 0 = liveness (/healthz: 200 unless the consume loop stalled),
 * 1 = readiness (/readyz: 200 only when Redis and Kafka are up, the group
 * has assigned us our partitions and we are not stopping). */
int fd_metrics_health(fd_metrics *m, int readiness, fd_buf *out);

#endif
