/* funneld — which event-id dedupe sets a batch reads and writes.
 *
 * The event ids a tenant's batches applied go to sets of generations of
 * FD_DEDUPE_GEN_DAYS UTC days of processing time, P:{T}:dedupe:<first day>
 * (docs/REDIS.md). A batch reads every generation that can hold an id
 * applied within processing.dedupe_window_days before it, so an id is
 * remembered at least the window and less than the window plus one
 * generation. Layout 1 kept one string with a TTL per event id
 * (P:{T}:seen:<event_id>); after an upgrade those are read too until the
 * last of them has expired. */
#ifndef FD_DEDUPE_H
#define FD_DEDUPE_H

#include <stdint.h>

#include "resp.h"

#define FD_DEDUPE_GEN_DAYS 4
/* How far instances' clocks may disagree: near the start of a generation
 * the next one is read too, in case an instance whose clock is ahead
 * already wrote to it. */
#define FD_DEDUPE_SKEW_MS (10 * 60 * 1000LL)

typedef struct fd_dedupe_plan {
        int64_t write_gen; /* the generation this batch's ids go to */
        int64_t read_lo;   /* the generations read, inclusive */
        int64_t read_hi;
        int64_t expire_at_ms; /* when write_gen's set is no longer read */
        int64_t unlink_gen;   /* the generation that left the read range */
        int v1;               /* read layout-1 markers too */
} fd_dedupe_plan;

/* The plan of a batch at wall-clock now_ms with the dedupe window
 * window_ms; layout-1 markers may exist until v1_until_ms (0: none). */
void fd_dedupe_plan_at(int64_t now_ms, int64_t window_ms, int64_t v1_until_ms,
                       fd_dedupe_plan *plan);

/* The number of replies the reads of one group of event ids take. */
int fd_dedupe_reads(const fd_dedupe_plan *plan);

/* P:{T}:dedupe:<YYYY-MM-DD> of generation gen (its first day). */
int fd_key_dedupe(fd_resp *r, const char *p, const char *t, int64_t gen);

#endif
