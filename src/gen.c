/* funneld — deterministic synthetic stream of lead and CRM events.
 *
 * Journeys are planned by gen_plan.c. A min-heap holds the active journeys
 * keyed by the time of their next step; journeys start lazily (a Poisson
 * arrival process) once the stream reaches their start time, so memory is
 * bounded by the journeys in flight, not by the stream length. A step becomes
 * an fd_event only when it is returned; its strings come from a PRNG seeded
 * by (seed, journey, step), so the same conf always gives the same bytes.
 *
 * With conf.spend, the spend reports of one day (every tenant, every paid
 * channel) are planned together when the stream reaches them, sorted by
 * report time, and merged with the journeys' steps by time (a step first at
 * equal times). They take no numbers from the generator's own PRNG and no
 * event numbers of a tenant, so they leave the journeys as they are. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "funneld/timebucket.h"
#include "gen.h"
#include "gen_plan.h"

/* ---- the generator ---------------------------------------------------- */

typedef struct gen_journey {
        uint64_t no; /* creation order: heap tie-break and step seeds */
        int tenant;
        fd_gen_actor actor;
        fd_gen_step *steps;
        size_t cnt, next;
} gen_journey;

/* A journey in the heap, keyed by the time of its next step. */
typedef struct heap_entry {
        int64_t at;
        uint64_t no;
        gen_journey *j;
} heap_entry;

typedef struct gen_tenant {
        char id[16];
        const char *currency;
        int weight;
        double spend_scale; /* its spend, relative to the biggest tenant */
        int64_t anon_last, lead_last, opp_last; /* numbers handed out */
        uint64_t event_seq;
} gen_tenant;

struct fd_gen {
        fd_gen_conf conf;
        fd_gen_rng rng; /* arrivals, tenant choice, duplicates */
        gen_tenant *tenants;
        double next_at;    /* start of the next journey */
        double mean_gap;   /* mean ms between journey starts */
        uint64_t journeys; /* created so far */
        heap_entry *heap;  /* min-heap by (at, no) */
        size_t heap_cnt, heap_cap;
        int64_t emitted;
        int repeat;          /* re-send the top step as a duplicate */
        uint64_t repeat_seq; /* its event sequence number */
        fd_gen_plan plan;    /* scratch */
        /* conf.spend: the reports of day spend_day - 1, from spend_pos */
        fd_gen_spend_list spend;
        size_t spend_pos;
        int32_t spend_day, spend_first_day;
        int spend_tenants; /* tenants 0 .. spend_tenants-1 report spend */
};

void fd_gen_conf_init(fd_gen_conf *conf)
{
        memset(conf, 0, sizeof(*conf));
        conf->seed = 1;
        conf->tenants = 3;
        conf->target_events = 10000;
        conf->start_ms = FD_GEN_DEFAULT_START_MS;
        conf->days = 60;
        conf->dup_rate = 0.01;
}

int fd_gen_conf_check(const fd_gen_conf *conf, char *errstr, size_t errstr_size)
{
        const char *what = NULL;

        if (conf->tenants < 1 || conf->tenants > 10000)
                what = "tenants must be between 1 and 10000";
        else if (conf->target_events < 0)
                what = "the number of events must be >= 0 (0 = endless)";
        else if (conf->days < 1 || conf->days > 3650)
                what = "days must be between 1 and 3650";
        else if (!(conf->dup_rate >= 0.0 && conf->dup_rate <= 0.5))
                what = "the duplicate rate must be between 0 and 0.5";
        else if (conf->leads < 0 || conf->leads > INT64_C(1000000000))
                what = "leads must be between 0 and 1000000000";
        else if (conf->start_ms < 0 ||
                 conf->start_ms > INT64_C(7258118400000)) /* 2200 */
                what = "the start time must lie between 1970 and 2200";
        else if (conf->spend != 0 && conf->spend != 1)
                what = "spend must be 0 (off) or 1 (on)";
        if (!what)
                return 0;
        snprintf(errstr, errstr_size, "generator: %s; fix the option", what);
        return -1;
}

/* With conf.spend: the spend reports of one tenant expected over the
 * configured days, counted on the first days of up to 16 tenants (how many
 * reports a tenant makes does not depend on its size). -1 when out of
 * memory. */
static double spend_expected(fd_gen *gen)
{
        int tenants = gen->conf.tenants < 16 ? gen->conf.tenants : 16;
        int days = gen->conf.days < 28 ? gen->conf.days : 28;
        fd_gen_spend_list *l = &gen->spend;
        int32_t d0 = gen->spend_first_day;
        int32_t d;
        double n = 0;
        int t, slot;

        for (d = d0; d < d0 + days; d++) {
                for (t = 0; t < tenants; t++) {
                        l->cnt = 0;
                        for (slot = 0; slot < FD_GEN_SPEND_CHANNELS; slot++)
                                fd_gen_plan_spend(gen->conf.seed, t, 1.0, slot,
                                                  d, d0, gen->conf.dup_rate, l);
                        if (l->oom)
                                return -1;
                        n += (double)l->cnt;
                }
        }
        l->cnt = 0;
        return n / days / tenants * gen->conf.days;
}

/* Mean events per journey and mean delay of an event after the journey's
 * start, from sample plans: they set the journey arrival rate so that about
 * target_events fall inside the configured days (with conf.spend: what the
 * spend reports leave of them, at least half). */
static int calibrate(fd_gen *gen)
{
        const int n = 2000;
        double events = 0, delay = 0, per, window, span, target;
        fd_gen_rng r;
        size_t k;
        int i;

        fd_gen_rng_seed(&r, gen->conf.seed, 0, 0xca11b);
        for (i = 0; i < n; i++) {
                fd_gen_plan_journey(&r, gen->conf.start_ms, 1, &gen->plan);
                if (gen->plan.oom)
                        return -1;
                events += (double)gen->plan.cnt;
                for (k = 0; k < gen->plan.cnt; k++)
                        delay += (double)(gen->plan.steps[k].at -
                                          gen->conf.start_ms);
        }
        per = events / n * (1.0 + gen->conf.dup_rate);
        window = (double)gen->conf.days * (double)FD_DAY_MS;
        span = window - delay / events;
        if (span < window / 2)
                span = window / 2;
        target = gen->conf.target_events > 0 ? (double)gen->conf.target_events
                                             : 10000.0;
        if (gen->conf.spend) {
                /* the reports of one tenant over the days; as many tenants
                 * report (the biggest first) as fit into half the events */
                double per_tenant = spend_expected(gen), fit;

                if (per_tenant < 0)
                        return -1;
                fit = per_tenant > 0 ? target / 2 / per_tenant : 1e9;
                gen->spend_tenants = fit < 1 ? 1
                                     : fit < gen->conf.tenants
                                             ? (int)fit
                                             : gen->conf.tenants;
                /* (a single tenant may make more than half: then the
                 * journeys keep half and the stream ends early) */
                if (per_tenant * gen->spend_tenants < target / 2)
                        target -= per_tenant * gen->spend_tenants;
                else
                        target /= 2;
        }
        gen->mean_gap = span * per / target;
        return 0;
}

static int64_t top_at(const fd_gen *gen)
{
        return gen->heap[0].at;
}

static int entry_less(const heap_entry *a, const heap_entry *b)
{
        return a->at < b->at || (a->at == b->at && a->no < b->no);
}

static void heap_down(fd_gen *gen, size_t i)
{
        heap_entry *h = gen->heap;

        for (;;) {
                size_t l = 2 * i + 1, m = i;
                heap_entry t;

                if (l < gen->heap_cnt && entry_less(&h[l], &h[m]))
                        m = l;
                if (l + 1 < gen->heap_cnt && entry_less(&h[l + 1], &h[m]))
                        m = l + 1;
                if (m == i)
                        return;
                t = h[i];
                h[i] = h[m];
                h[m] = t;
                i = m;
        }
}

/* Takes ownership of j on success. */
static int heap_push(fd_gen *gen, gen_journey *j)
{
        heap_entry *h;
        size_t i;

        if (gen->heap_cnt == gen->heap_cap) {
                size_t cap = gen->heap_cap ? 2 * gen->heap_cap : 1024;

                h = realloc(gen->heap, cap * sizeof(*h));
                if (!h)
                        return -1;
                gen->heap = h;
                gen->heap_cap = cap;
        }
        h = gen->heap;
        i = gen->heap_cnt++;
        h[i].at = j->steps[j->next].at;
        h[i].no = j->no;
        h[i].j = j;
        while (i > 0 && entry_less(&h[i], &h[(i - 1) / 2])) {
                heap_entry t = h[(i - 1) / 2];

                h[(i - 1) / 2] = h[i];
                h[i] = t;
                i = (i - 1) / 2;
        }
        return 0;
}

static void journey_free(gen_journey *j)
{
        if (j)
                free(j->steps);
        free(j);
}

static int pick_tenant(fd_gen *gen)
{
        int total = 0, i, x;

        for (i = 0; i < gen->conf.tenants; i++)
                total += gen->tenants[i].weight;
        x = (int)(fd_gen_rng_unit(&gen->rng) * total);
        for (i = 0; i < gen->conf.tenants - 1; i++) {
                if (x < gen->tenants[i].weight)
                        return i;
                x -= gen->tenants[i].weight;
        }
        return gen->conf.tenants - 1;
}

/* With conf.leads: the number of lead ids of tenant tn, its weight's share
 * of conf.leads (at least 1). */
static int64_t lead_pool(const fd_gen *gen, const gen_tenant *tn)
{
        int64_t total = 0, pool;
        int i;

        for (i = 0; i < gen->conf.tenants; i++)
                total += gen->tenants[i].weight;
        pool = gen->conf.leads * tn->weight / total;
        return pool > 0 ? pool : 1;
}

/* Plans the next arriving journey and puts it on the heap, which owns it
 * (freed when its last step was returned, or by fd_gen_destroy). */
static int journey_start(fd_gen *gen)
{
        int64_t at = (int64_t)gen->next_at;
        fd_gen_plan *p = &gen->plan;
        gen_tenant *tn;
        gen_journey *j;
        fd_gen_rng r;

        gen->next_at += fd_gen_rng_exp(&gen->rng, gen->mean_gap);
        j = calloc(1, sizeof(*j));
        if (!j)
                return -1;
        j->no = ++gen->journeys;
        j->tenant = pick_tenant(gen);
        tn = &gen->tenants[j->tenant];
        fd_gen_rng_seed(&r, gen->conf.seed, j->no, 0);
        fd_gen_plan_journey(&r, at, tn->lead_last > 0, p);
        j->steps = p->oom ? NULL : malloc(p->cnt * sizeof(*j->steps));
        if (!j->steps) {
                journey_free(j);
                return -1;
        }
        memcpy(j->steps, p->steps, p->cnt * sizeof(*j->steps));
        j->cnt = p->cnt;
        if (p->uses_anon)
                j->actor.anon_no = ++tn->anon_last;
        if (p->lead_mode == FD_GEN_LEAD_NEW)
                j->actor.lead_no = ++tn->lead_last;
        else if (p->lead_mode == FD_GEN_LEAD_EXISTING)
                j->actor.lead_no = 1 + fd_gen_rng_range(&r, 0, tn->lead_last);
        if (gen->conf.leads > 0 && p->lead_mode != FD_GEN_LEAD_NONE)
                j->actor.lead_no =
                        1 + fd_gen_rng_range(&r, 0, lead_pool(gen, tn));
        if (p->uses_opp)
                j->actor.opp_no = ++tn->opp_last;
        j->actor.tenant_id = tn->id;
        j->actor.currency = tn->currency;
        fd_gen_actor_profile(gen->conf.seed, j->tenant, &j->actor);
        if (heap_push(gen, j) < 0) {
                journey_free(j);
                return -1;
        }
        return 0;
}

/* Starts every journey that begins before the next pending step. */
static int start_due(fd_gen *gen)
{
        while (gen->heap_cnt == 0 || gen->next_at <= (double)top_at(gen))
                if (journey_start(gen) < 0)
                        return -1;
        return 0;
}
/* Writes the next step of j as event number seq of its tenant into out. */
static int materialize(const fd_gen *gen, const gen_journey *j, uint64_t seq,
                       fd_event *out)
{
        char event_id[64];
        fd_gen_rng r;

        snprintf(event_id, sizeof(event_id), "%s-s%" PRIu64 "-%" PRIu64,
                 j->actor.tenant_id, gen->conf.seed, seq);
        fd_gen_rng_seed(&r, gen->conf.seed, j->no, j->next + 1);
        return fd_gen_step_event(&j->actor, &j->steps[j->next], &r, event_id,
                                 out);
}

/* ---- spend reports ------------------------------------------------------ */

static int spend_less(const void *a, const void *b)
{
        const fd_gen_spend *x = a, *y = b;

        if (x->at != y->at)
                return x->at < y->at ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The next spend report, planning the next day's when the current day's
 * are used up; NULL when out of memory. */
static const fd_gen_spend *spend_top(fd_gen *gen)
{
        fd_gen_spend_list *l = &gen->spend;
        int t, slot;

        while (gen->spend_pos == l->cnt) {
                l->cnt = 0;
                gen->spend_pos = 0;
                for (t = 0; t < gen->spend_tenants; t++)
                        for (slot = 0; slot < FD_GEN_SPEND_CHANNELS; slot++)
                                fd_gen_plan_spend(gen->conf.seed, t,
                                                  gen->tenants[t].spend_scale,
                                                  slot, gen->spend_day,
                                                  gen->spend_first_day,
                                                  gen->conf.dup_rate, l);
                if (l->oom) {
                        l->oom = 0;
                        l->cnt = 0;
                        return NULL;
                }
                gen->spend_day++;
                qsort(l->items, l->cnt, sizeof(*l->items), spend_less);
        }
        return &l->items[gen->spend_pos];
}

/* ---- public API ------------------------------------------------------- */

/* Returns a new generator owned by the caller, or NULL. */
fd_gen *fd_gen_new(const fd_gen_conf *conf)
{
        char err[128];
        fd_gen *gen;
        int i;

        if (fd_gen_conf_check(conf, err, sizeof(err)) < 0)
                return NULL;
        gen = calloc(1, sizeof(*gen));
        if (!gen)
                return NULL;
        gen->conf = *conf;
        gen->tenants = calloc((size_t)conf->tenants, sizeof(*gen->tenants));
        if (!gen->tenants)
                goto fail;
        for (i = 0; i < conf->tenants; i++) {
                gen_tenant *tn = &gen->tenants[i];

                snprintf(tn->id, sizeof(tn->id), "t%d", i + 1);
                tn->currency = i % 3 == 1 ? "EUR" : "USD";
                tn->weight = 12 / (i + 1) + 1;
                tn->spend_scale = (double)tn->weight / 13.0;
                if (tn->spend_scale < 0.15)
                        tn->spend_scale = 0.15;
        }
        gen->spend_first_day = (int32_t)(conf->start_ms / FD_DAY_MS);
        gen->spend_day = gen->spend_first_day;
        fd_gen_rng_seed(&gen->rng, conf->seed, 0, 0);
        if (calibrate(gen) < 0)
                goto fail;
        gen->next_at = (double)conf->start_ms;
        return gen;
fail:
        fd_gen_destroy(gen);
        return NULL;
}

/* Fills out (caller-owned strings) with the next event. */
int fd_gen_next(fd_gen *gen, fd_event *out)
{
        gen_journey *j;
        uint64_t seq;

        if (gen->conf.target_events > 0 &&
            gen->emitted >= gen->conf.target_events)
                return 0;
        if (!gen->repeat && start_due(gen) < 0)
                return -1;
        if (!gen->repeat && gen->conf.spend) {
                const fd_gen_spend *s = spend_top(gen);

                if (!s)
                        return -1;
                if (s->at < top_at(gen)) {
                        const gen_tenant *tn = &gen->tenants[s->tenant];

                        if (fd_gen_spend_event(gen->conf.seed, tn->id,
                                               tn->currency, s, out) < 0)
                                return -1;
                        gen->spend_pos++;
                        gen->emitted++;
                        return 1;
                }
        }
        j = gen->heap[0].j;
        seq = gen->repeat ? gen->repeat_seq
                          : gen->tenants[j->tenant].event_seq + 1;
        if (materialize(gen, j, seq, out) < 0)
                return -1;
        gen->emitted++;
        if (!gen->repeat) {
                gen->tenants[j->tenant].event_seq = seq;
                if (gen->conf.dup_rate > 0 &&
                    fd_gen_rng_unit(&gen->rng) < gen->conf.dup_rate) {
                        /* the next call re-sends this very event */
                        gen->repeat = 1;
                        gen->repeat_seq = seq;
                        return 1;
                }
        }
        gen->repeat = 0;
        if (++j->next < j->cnt) {
                gen->heap[0].at = j->steps[j->next].at;
                heap_down(gen, 0);
                return 1;
        }
        gen->heap[0] = gen->heap[--gen->heap_cnt];
        heap_down(gen, 0);
        journey_free(j);
        return 1;
}

/* Frees gen and every journey in flight. */
void fd_gen_destroy(fd_gen *gen)
{
        size_t i;

        if (!gen)
                return;
        for (i = 0; i < gen->heap_cnt; i++)
                journey_free(gen->heap[i].j);
        free(gen->heap);
        free(gen->tenants);
        free(gen->plan.steps);
        free(gen->spend.items);
        free(gen);
}
