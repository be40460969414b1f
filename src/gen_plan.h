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

#endif
