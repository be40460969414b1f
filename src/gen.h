/* funneld — synthetic event stream for demos, tests and load (private).
 *
 * fd_gen is a deterministic generator of realistic LeadEvent / CrmStageEvent
 * streams, with conf.spend also SpendEvents: the same conf (seed included)
 * gives the same events in the same order. It does no I/O. Events come in
 * nondecreasing occurred_at order; the journeys of many leads of several
 * tenants, and the spend reports, are interleaved by event time.
 *
 * fd_gen_produce() runs a generator and produces its events Avro-encoded
 * (Confluent framing) to Kafka with an idempotent librdkafka producer. It uses
 * no globals and may run in any thread. */
#ifndef FUNNELD_GEN_H
#define FUNNELD_GEN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "funneld/event.h"

/* 2026-09-01T00:00:00Z */
#define FD_GEN_DEFAULT_START_MS INT64_C(1788220800000)

typedef struct fd_gen_conf {
        uint64_t seed;         /* 1 */
        int tenants;           /* tenants "t1".."tN", 3 */
        int64_t target_events; /* events returned, 10000; 0 = endless */
        int64_t start_ms;      /* first journey starts here */
        int days;              /* journeys start over about this many days */
        double dup_rate;       /* share of events re-sent as exact copies */
        int64_t leads; /* 0 = a new lead id per new-lead journey; else every
                        * journey with a lead picks one of about this many
                        * lead ids (split over the tenants by weight), for
                        * load tests with a set number of leads */
        int spend;     /* 1: also SpendEvents, 0 (default): none. Every
                        * tenant reports each day's spend of its paid
                        * channels (paid_search, paid_social, email daily;
                        * events some days) in its deals' currency at 00:30
                        * to 01:15 UTC the next day, per channel or per
                        * campaign, with a few negative corrections of
                        * earlier days, about 7 reports a tenant a day.
                        * They count toward target_events; the journeys
                        * then arrive less often so that the stream still
                        * spans about the configured days. When all
                        * tenants' reports would take more than half the
                        * events, only the biggest tenants (t1, t2, ...)
                        * that fit report spend. */
} fd_gen_conf;

typedef struct fd_gen fd_gen;

/* Fills conf with the defaults shown above. */
void fd_gen_conf_init(fd_gen_conf *conf);

/* Checks conf; 0 if usable, else -1 with a sentence in errstr. */
int fd_gen_conf_check(const fd_gen_conf *conf, char *errstr,
                      size_t errstr_size);

/* Creates a generator; the caller owns it (fd_gen_destroy). NULL when conf
 * fails fd_gen_conf_check or memory runs out. */
fd_gen *fd_gen_new(const fd_gen_conf *conf);

/* Writes the next event to out (zeroed or cleared; the caller then owns its
 * strings and releases them with fd_event_clear). 1 = an event, 0 = end of
 * stream, -1 = out of memory. */
int fd_gen_next(fd_gen *gen, fd_event *out);

void fd_gen_destroy(fd_gen *gen);

/* The channel mix of visits: name and percent, cnt entries, static. */
typedef struct fd_gen_share {
        const char *name;
        int percent;
} fd_gen_share;
const fd_gen_share *fd_gen_channel_mix(size_t *cnt);

/* Called for each event after it was handed to the producer (e.g. to write
 * JSON lines); nonzero stops producing with an error. ev stays owned by the
 * caller of the hook. */
typedef int(fd_gen_event_hook)(void *opaque, const fd_event *ev);

typedef struct fd_gen_produce_conf {
        fd_gen_conf gen;
        const char *lead_topic;   /* "funnel.lead-events" */
        const char *crm_topic;    /* "funnel.crm-events" */
        const char *spend_topic;  /* SpendEvents (gen.spend), "funnel.spend" */
        const char *schema_dir;   /* "schemas" */
        int32_t lead_schema_id;   /* Confluent id in the frame, 1 */
        int32_t crm_schema_id;    /* 2 */
        int32_t spend_schema_id;  /* 5 */
        double rate;              /* events per second, 0 = unlimited */
        const char *const *props; /* librdkafka properties: key, value,
                                   * key, value, ... (2 * prop_cnt) */
        size_t prop_cnt;          /* number of key/value pairs */
        int flush_timeout_ms;     /* final flush deadline, 30000 */
        volatile sig_atomic_t *stop; /* set nonzero to end early; may be NULL */
        fd_gen_event_hook *on_event; /* may be NULL */
        void *opaque;                /* passed to on_event */
} fd_gen_produce_conf;

typedef struct fd_gen_stats {
        int64_t lead_events;  /* handed to the producer, lead topic */
        int64_t crm_events;   /* handed to the producer, crm topic */
        int64_t spend_events; /* handed to the producer, spend topic */
        int64_t delivered;    /* acknowledged by the broker */
        int64_t failed;       /* delivery reports with an error */
} fd_gen_stats;

/* Fills conf with defaults (fd_gen_conf_init for conf->gen). */
void fd_gen_produce_conf_init(fd_gen_produce_conf *conf);

/* Generates conf->gen's stream and produces it: LeadEvents to lead_topic
 * keyed by lead_id, else anonymous_id; CrmStageEvents to crm_topic keyed by
 * lead_id; with conf->gen.spend SpendEvents to spend_topic keyed by
 * channel. Flushes at the end (or on *stop). stats may be NULL; it is zeroed
 * first and updated while producing, so another thread may read it for a
 * progress display. Returns 0 when every produced event was delivered, else
 * -1 with a sentence in errstr. */
int fd_gen_produce(const fd_gen_produce_conf *conf, fd_gen_stats *stats,
                   char *errstr, size_t errstr_size);

#endif
