/* funneld — journeys of the synthetic stream (private to src/gen*.c).
 *
 * A journey is planned whole when it starts, outcome first (will the visitor
 * identify, engage, become an SQL, an opportunity, a customer?), as a short
 * array of compact steps sorted by time. A step becomes an fd_event only when
 * the generator returns it. Everything random comes from fd_gen_rng, a
 * xoshiro256** seeded through splitmix64, never from rand(). */
#ifndef FUNNELD_GEN_PLAN_H
#define FUNNELD_GEN_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "funneld/event.h"
#include "gen.h"

typedef struct fd_gen_rng {
        uint64_t s[4];
} fd_gen_rng;

/* Seeds r from three numbers (e.g. seed, journey, step). */
void fd_gen_rng_seed(fd_gen_rng *r, uint64_t a, uint64_t b, uint64_t c);
/* Uniform in [0, 1). */
double fd_gen_rng_unit(fd_gen_rng *r);
/* Uniform in [lo, hi). */
int64_t fd_gen_rng_range(fd_gen_rng *r, int64_t lo, int64_t hi);
/* Exponentially distributed with the given mean. */
double fd_gen_rng_exp(fd_gen_rng *r, double mean);

/* One future event of a journey, 16 bytes. */
typedef struct fd_gen_step {
        int64_t at;
        int32_t detail;   /* CRM: amount in whole currency units, -1 = none;
                           * lead: picks UTM source, term, content */
        uint8_t what;     /* lead event type or CRM stage */
        uint8_t channel;  /* channel, or 0xff */
        uint8_t campaign; /* index in the channel's campaigns, or 0xff */
        uint8_t flags;    /* which ids, UTM, CRM */
} fd_gen_step;

enum { FD_GEN_LEAD_NONE, FD_GEN_LEAD_NEW, FD_GEN_LEAD_EXISTING };

/* A plan under construction; steps is reused across plans. */
typedef struct fd_gen_plan {
        fd_gen_step *steps;
        size_t cnt, cap;
        int uses_anon;     /* needs an anonymous id */
        int lead_mode;     /* FD_GEN_LEAD_*: a new lead, or a known one back */
        int uses_opp;      /* needs an opportunity id */
        int oom;           /* a step could not be stored */
        fd_gen_step spare; /* written instead when memory ran out */
} fd_gen_plan;

/* Replaces p's steps by a journey starting at t, sorted by time. may_return:
 * the tenant has leads already, so one may come back on a new device. */
void fd_gen_plan_journey(fd_gen_rng *r, int64_t t, int may_return,
                         fd_gen_plan *p);

/* Who a journey's events are about. */
typedef struct fd_gen_actor {
        const char *tenant_id;
        const char *currency;             /* of the tenant's deals */
        int64_t anon_no, lead_no, opp_no; /* 0 = none */
        uint8_t job, size, industry, country, owner;
} fd_gen_actor;

/* Sets a's profile (job, company size, ..., owner) from (seed, tenant,
 * a->lead_no) alone, so a lead keeps it across journeys. */
void fd_gen_actor_profile(uint64_t seed, int tenant, fd_gen_actor *a);

/* Writes step s of actor a as event event_id into out (zeroed or cleared;
 * the caller owns the strings after). r supplies the random details.
 * 0, or -1 when out of memory (out left cleared). */
int fd_gen_step_event(const fd_gen_actor *a, const fd_gen_step *s,
                      fd_gen_rng *r, const char *event_id, fd_event *out);

/* ---- spend ------------------------------------------------------------
 *
 * Paid channels report what they spent each day, 00:30 to 01:15 (UTC) the
 * next day: paid_search, paid_social and email every day, events on about
 * one day in eight. A day's spend of a channel comes as one report for the
 * channel as a whole or one per active campaign; now and then a report
 * corrects (reduces) a report of one to five days before. Everything comes
 * from (seed, tenant, day, channel), so any day can be recomputed alone. */

#define FD_GEN_SPEND_CHANNELS 4 /* paid channels that report spend */
#define FD_GEN_SPEND_FIX      1 /* fd_gen_spend.flags: a correction */

/* One spend report, 32 bytes. */
typedef struct fd_gen_spend {
        int64_t at;       /* reported, ms */
        int64_t amount;   /* minor units; < 0 for a correction */
        int32_t day;      /* the day it was spent, days since 1970-01-01 */
        int32_t tenant;   /* index */
        uint8_t channel;  /* channel (index in fd_gen_channel_mix) */
        uint8_t campaign; /* index in the channel's campaigns, or 0xff */
        uint8_t flags;    /* FD_GEN_SPEND_* */
        uint8_t pad;
        uint32_t seq; /* order of equal times: position in its day */
} fd_gen_spend;

/* Spend reports under construction; items is reused across days. */
typedef struct fd_gen_spend_list {
        fd_gen_spend *items;
        size_t cnt, cap;
        int oom; /* an item could not be stored */
} fd_gen_spend_list;

/* Appends the reports of slot (0 .. FD_GEN_SPEND_CHANNELS-1) of tenant for
 * day: the day's spend, scaled by scale (1 = the biggest tenant), re-sent
 * duplicates at dup_rate, and maybe a correction of a day >= first_day. */
void fd_gen_plan_spend(uint64_t seed, int tenant, double scale, int slot,
                       int32_t day, int32_t first_day, double dup_rate,
                       fd_gen_spend_list *l);

/* Writes report s of tenant tenant_id (amounts in currency) as a SpendEvent
 * into out (zeroed or cleared; the caller owns the strings after). 0, or -1
 * when out of memory (out left cleared). */
int fd_gen_spend_event(uint64_t seed, const char *tenant_id,
                       const char *currency, const fd_gen_spend *s,
                       fd_event *out);

#endif
