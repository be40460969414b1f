/* funneld — journeys of the synthetic stream: PRNG, vocabulary, plans, and
 * the events made from their steps. See gen_plan.h. */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "funneld/timebucket.h"
#include "gen_plan.h"

/* ---- PRNG: xoshiro256** seeded through splitmix64 ---------------------- */

static uint64_t splitmix64(uint64_t *x)
{
        uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

void fd_gen_rng_seed(fd_gen_rng *r, uint64_t a, uint64_t b, uint64_t c)
{
        uint64_t x = a;
        int i;

        x = splitmix64(&x) ^ b;
        x = splitmix64(&x) ^ c;
        for (i = 0; i < 4; i++)
                r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
        return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(fd_gen_rng *r)
{
        uint64_t *s = r->s;
        uint64_t out = rotl(s[1] * 5, 7) * 9;
        uint64_t t = s[1] << 17;

        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return out;
}

/* Uniform in [0, 1). */
double fd_gen_rng_unit(fd_gen_rng *r)
{
        return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static int rng_below(fd_gen_rng *r, int n)
{
        return (int)(fd_gen_rng_unit(r) * n);
}

static int rng_chance(fd_gen_rng *r, double p)
{
        return fd_gen_rng_unit(r) < p;
}

/* Uniform in [lo, hi). */
int64_t fd_gen_rng_range(fd_gen_rng *r, int64_t lo, int64_t hi)
{
        return lo + (int64_t)(fd_gen_rng_unit(r) * (double)(hi - lo));
}

double fd_gen_rng_exp(fd_gen_rng *r, double mean)
{
        return -mean * log(1.0 - fd_gen_rng_unit(r));
}

static int rng_weighted(fd_gen_rng *r, const int *weight, int n)
{
        int total = 0, i, x;

        for (i = 0; i < n; i++)
                total += weight[i];
        x = rng_below(r, total);
        for (i = 0; i < n - 1; i++) {
                if (x < weight[i])
                        return i;
                x -= weight[i];
        }
        return n - 1;
}

/* ---- vocabulary ------------------------------------------------------- */

enum {
        CH_ORGANIC,
        CH_PAID_SEARCH,
        CH_PAID_SOCIAL,
        CH_EMAIL,
        CH_REFERRAL,
        CH_EVENTS,
        CH_DIRECT,
        CH_COUNT,
        CH_NONE = 0xff
};

static const fd_gen_share channel_mix[CH_COUNT] = {
        {"organic_search", 30}, {"paid_search", 20}, {"paid_social", 15},
        {"email", 10},          {"referral", 10},    {"events", 5},
        {"direct", 10},
};

#define MAX_CAMPAIGNS 4 /* per channel */

/* UTM parameters of a channel. With paired sources, a campaign's source is
 * the source of the same index. */
typedef struct channel_def {
        const char *medium; /* NULL: no UTM parameters at all */
        double campaign_rate;
        int paired;
        const char *sources[4];
        const char *campaigns[MAX_CAMPAIGNS];
        const char *terms[5];
        const char *contents[4];
} channel_def;

static const channel_def channel_defs[CH_COUNT] = {
        [CH_ORGANIC] = {"organic",
                        0.0,
                        0,
                        {"google", "bing", "duckduckgo"},
                        {NULL},
                        {NULL},
                        {NULL}},
        [CH_PAID_SEARCH] = {"cpc",
                            1.0,
                            0,
                            {"google", "bing"},
                            {"brand-search-q4", "competitor-search-q4",
                             "generic-attribution-search"},
                            {"revenue attribution software",
                             "marketing funnel analytics", "b2b lead scoring",
                             "multi touch attribution", "funneld"},
                            {"rsa-variant-a", "rsa-variant-b"}},
        [CH_PAID_SOCIAL] = {"paid_social",
                            1.0,
                            0,
                            {"linkedin", "facebook"},
                            {"retargeting-nov", "abm-enterprise-q4",
                             "lookalike-saas-q4"},
                            {NULL},
                            {"carousel-roi", "video-15s", "single-image-cmo"}},
        [CH_EMAIL] = {"email",
                      1.0,
                      1,
                      {"newsletter", "nurture", "product-announcement"},
                      {"newsletter-oct", "nurture-track-a",
                       "product-launch-2026"},
                      {NULL},
                      {"cta-hero", "cta-footer"}},
        [CH_REFERRAL] = {"referral",
                         0.4,
                         0,
                         {"g2.com", "capterra.com", "partner-blog"},
                         {"partner-referral-program"},
                         {NULL},
                         {NULL}},
        [CH_EVENTS] = {"event",
                       1.0,
                       1,
                       {"webinar", "saas-connect", "roadshow"},
                       {"webinar-ai-2026", "saas-connect-booth",
                        "roadshow-berlin"},
                       {NULL},
                       {NULL}},
        [CH_DIRECT] = {NULL, 0.0, 0, {NULL}, {NULL}, {NULL}, {NULL}},
};

enum {
        T_PAGE_VIEW,
        T_AD_CLICK,
        T_CONTENT_DOWNLOAD,
        T_PRICING,
        T_FORM_SUBMIT,
        T_IDENTIFY,
        T_EMAIL_OPEN,
        T_EMAIL_CLICK,
        T_WEBINAR,
        T_DEMO,
        T_CONTACT,
        T_TRIAL,
        T_UNSUBSCRIBE,
        T_COUNT
};

static const char *const lead_types[T_COUNT] = {
        "page_view",         "ad_click",      "content_download",
        "pricing_page_view", "form_submit",   "identify",
        "email_open",        "email_click",   "webinar_attended",
        "demo_request",      "contact_sales", "trial_signup",
        "unsubscribe",
};

/* Activity of an identified lead (indexes are T_*). */
static const int activity_weight[T_COUNT] = {
        [T_PAGE_VIEW] = 26,  [T_CONTENT_DOWNLOAD] = 10,
        [T_PRICING] = 8,     [T_FORM_SUBMIT] = 4,
        [T_EMAIL_OPEN] = 24, [T_EMAIL_CLICK] = 12,
        [T_WEBINAR] = 5,     [T_DEMO] = 1,
        [T_CONTACT] = 1,     [T_TRIAL] = 2,
};

enum { S_LEAD, S_SQL, S_OPP, S_WON, S_LOST, S_RECYCLED };

static const char *const crm_stages[] = {
        "lead", "sql", "opportunity", "closed_won", "closed_lost", "recycled",
};

static const struct {
        const char *title;
        const char *persona;
        int weight;
} jobs[] = {
        {"Chief Marketing Officer", "marketing_leader", 3},
        {"VP Marketing", "marketing_leader", 5},
        {"Head of Demand Generation", "marketing_leader", 4},
        {"Marketing Operations Manager", "marketing_ops", 6},
        {"Demand Generation Manager", "marketing_ops", 6},
        {"Growth Marketer", "practitioner", 8},
        {"Content Marketing Specialist", "practitioner", 6},
        {"VP Sales", "sales_leader", 3},
        {"Sales Development Representative", "sales_rep", 5},
        {"Software Engineer", "technical", 4},
        {"Data Analyst", "technical", 3},
        {"Student", "student", 2},
};
#define JOB_CNT (int)(sizeof(jobs) / sizeof(jobs[0]))

static const char *const sizes[] = {
        "1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001+"};
static const int size_weight[] = {8, 15, 22, 18, 12, 15, 10};
static const char *const industries[] = {"software",   "financial_services",
                                         "healthcare", "manufacturing",
                                         "retail",     "education",
                                         "media",      "professional_services"};
static const int industry_weight[] = {30, 14, 10, 12, 10, 6, 8, 10};
static const char *const countries[] = {"US", "GB", "DE", "FR", "NL",
                                        "CA", "AU", "IN", "ES", "SE"};
static const int country_weight[] = {35, 10, 10, 6, 5, 6, 4, 8, 4, 3};
static const char *const owners[] = {
        "maria.garcia", "james.chen",    "priya.patel",  "tom.mueller",
        "sofia.rossi",  "daniel.okafor", "emma.johnson", "lucas.martin"};

#define NELEM(a) (int)(sizeof(a) / sizeof((a)[0]))

static int count_strs(const char *const *strs, int max)
{
        int n = 0;

        while (n < max && strs[n])
                n++;
        return n;
}

/* ---- journey plans ---------------------------------------------------- */

#define ID_LEAD 1
#define ID_ANON 2
#define F_UTM   4
#define F_CRM   8
#define NO_CAMP 0xff

/* Appends a step to p (which owns its growing array) and returns it; when
 * memory runs out, sets p->oom and returns p->spare instead. */
static fd_gen_step *plan_add(fd_gen_plan *p, int64_t at, int flags, int what)
{
        fd_gen_step *s;

        if (p->cnt == p->cap) {
                size_t cap = p->cap ? 2 * p->cap : 32;
                fd_gen_step *n = realloc(p->steps, cap * sizeof(*n));

                if (!n) {
                        p->oom = 1;
                        return &p->spare;
                }
                p->steps = n;
                p->cap = cap;
        }
        s = &p->steps[p->cnt++];
        s->at = at;
        s->detail = -1;
        s->what = (uint8_t)what;
        s->channel = CH_NONE;
        s->campaign = NO_CAMP;
        s->flags = (uint8_t)flags;
        return s;
}

/* B2B people act on (UTC) working days in the daytime: most night events
 * move to the next morning, most weekend events to Monday or Tuesday. */
static int64_t daytime(fd_gen_rng *r, int64_t t)
{
        int64_t hour = (t % FD_DAY_MS) / FD_HOUR_MS;
        int64_t dow = fd_weekday_of(t / FD_DAY_MS); /* 0 = Sunday */

        if ((hour < 7 || hour >= 21) && rng_chance(r, 0.8)) {
                t = (t / FD_DAY_MS + (hour >= 21)) * FD_DAY_MS + 8 * FD_HOUR_MS;
                t += fd_gen_rng_range(r, 0, 10 * FD_HOUR_MS);
                dow = fd_weekday_of(t / FD_DAY_MS);
        }
        if ((dow == 0 || dow == 6) && rng_chance(r, 0.6)) {
                int64_t to = (dow == 6 ? 2 : 1) + rng_below(r, 2); /* Mon/Tue */

                t = (t / FD_DAY_MS + to) * FD_DAY_MS + 8 * FD_HOUR_MS;
                t += fd_gen_rng_range(r, 0, 10 * FD_HOUR_MS);
        }
        return t;
}

static int64_t later(fd_gen_rng *r, int64_t t, double mean_ms, int64_t min_ms)
{
        return daytime(r, t + min_ms + (int64_t)fd_gen_rng_exp(r, mean_ms));
}

static int pick_channel(fd_gen_rng *r)
{
        int w[CH_COUNT], i;

        for (i = 0; i < CH_COUNT; i++)
                w[i] = channel_mix[i].percent;
        return rng_weighted(r, w, CH_COUNT);
}

static void set_channel(fd_gen_rng *r, fd_gen_step *s, int ch)
{
        const channel_def *cd = &channel_defs[ch];
        int n = count_strs(cd->campaigns, NELEM(cd->campaigns));

        s->channel = (uint8_t)ch;
        s->detail = (int32_t)fd_gen_rng_range(r, 0, INT32_MAX);
        if (n > 0 && rng_chance(r, cd->campaign_rate))
                s->campaign = (uint8_t)rng_below(r, n);
}

/* Anonymous visits; the type depends on the channel (ad clicks are paid). */
static int64_t plan_visits(fd_gen_rng *r, int64_t t, fd_gen_plan *p)
{
        static const int paid_w[] = {35, 55, 5, 5};
        static const int other_w[] = {68, 0, 17, 15};
        static const int type_of[] = {T_PAGE_VIEW, T_AD_CLICK,
                                      T_CONTENT_DOWNLOAD, T_PRICING};
        int n = 1, i;

        while (n < 8 && rng_chance(r, 0.55))
                n++;
        for (i = 0; i < n; i++) {
                int ch = pick_channel(r);
                int paid = ch == CH_PAID_SEARCH || ch == CH_PAID_SOCIAL;
                int what = type_of[rng_weighted(r, paid ? paid_w : other_w, 4)];
                fd_gen_step *s;

                if (i > 0)
                        t = later(r, t, 2.0 * FD_DAY_MS, FD_MINUTE_MS);
                s = plan_add(p, t, ID_ANON | F_UTM, what);
                set_channel(r, s, ch);
        }
        return t;
}

/* One activity of an identified lead at t. */
static void plan_activity(fd_gen_rng *r, int64_t t, int what, fd_gen_plan *p)
{
        int web = what == T_PAGE_VIEW || what == T_PRICING ||
                  what == T_CONTENT_DOWNLOAD;
        int form = what == T_DEMO || what == T_CONTACT || what == T_TRIAL ||
                   what == T_FORM_SUBMIT;
        int flags = ID_LEAD;
        fd_gen_step *s;

        if (web && p->uses_anon) {
                double u = fd_gen_rng_unit(r);

                flags = u < 0.45 ? ID_LEAD | ID_ANON
                                 : (u < 0.85 ? ID_LEAD : ID_ANON);
        } else if (form && p->uses_anon && rng_chance(r, 0.5)) {
                flags = ID_LEAD | ID_ANON;
        }
        if (web || form || what == T_EMAIL_CLICK)
                flags |= F_UTM;
        s = plan_add(p, t, flags, what);
        if (what == T_EMAIL_OPEN || what == T_EMAIL_CLICK ||
            what == T_UNSUBSCRIBE) {
                set_channel(r, s, CH_EMAIL);
        } else if (what == T_WEBINAR) {
                s->channel = CH_EVENTS;
                s->campaign = 0; /* webinar-ai-2026 */
        } else {
                set_channel(r, s, pick_channel(r));
        }
}

/* n activities after t; a hand-raise ends them when handraise is set. Sets
 * *unsub when the lead unsubscribed. Returns the time of the last one. */
static int64_t plan_activities(fd_gen_rng *r, int64_t t, int n, int handraise,
                               int may_unsub, int *unsub, fd_gen_plan *p)
{
        int i;

        for (i = 0; i < n; i++) {
                t = later(r, t, 2.0 * FD_DAY_MS, 5 * FD_MINUTE_MS);
                if (may_unsub && rng_chance(r, 0.015)) {
                        plan_activity(r, t, T_UNSUBSCRIBE, p);
                        *unsub = 1;
                        return t;
                }
                plan_activity(r, t, rng_weighted(r, activity_weight, T_COUNT),
                              p);
        }
        if (handraise && rng_chance(r, 0.85)) {
                t = later(r, t, 1.0 * FD_DAY_MS, 5 * FD_MINUTE_MS);
                plan_activity(r, t, rng_chance(r, 0.7) ? T_DEMO : T_CONTACT, p);
        }
        return t;
}

/* Deal size: log-uniform 5k..200k in whole units, rounded to 10. */
static int32_t deal_amount(fd_gen_rng *r)
{
        double lo = log(5000.0), hi = log(200000.0);
        double v = exp(lo + fd_gen_rng_unit(r) * (hi - lo));

        return (int32_t)(v / 10.0) * 10;
}

/* CRM: sql, then maybe opportunity, closed_won / closed_lost, recycled. */
static int64_t plan_deal(fd_gen_rng *r, int64_t t, fd_gen_plan *p)
{
        int64_t t_sql;
        int32_t amount;
        double u;

        t = daytime(r, t + fd_gen_rng_range(r, FD_HOUR_MS, 3 * FD_DAY_MS));
        plan_add(p, t, F_CRM | ID_LEAD, S_SQL);
        t_sql = t;
        if (!rng_chance(r, 0.5)) {
                if (rng_chance(r, 0.1))
                        plan_add(p,
                                 later(r, t, 20.0 * FD_DAY_MS, 14 * FD_DAY_MS),
                                 F_CRM | ID_LEAD, S_RECYCLED);
                return t_sql;
        }
        t = daytime(r, t + fd_gen_rng_range(r, 2 * FD_DAY_MS, 14 * FD_DAY_MS));
        amount = deal_amount(r);
        plan_add(p, t, F_CRM | ID_LEAD, S_OPP)->detail = amount;
        p->uses_opp = 1;
        t = daytime(r, t + fd_gen_rng_range(r, 5 * FD_DAY_MS, 35 * FD_DAY_MS));
        u = fd_gen_rng_unit(r);
        if (u < 0.25) {
                double f = 0.7 + 0.4 * fd_gen_rng_unit(r);
                int32_t won = (int32_t)(amount * f / 10.0) * 10;

                won = won < 5000 ? 5000 : (won > 200000 ? 200000 : won);
                plan_add(p, t, F_CRM | ID_LEAD, S_WON)->detail = won;
        } else if (u < 0.8) {
                plan_add(p, t, F_CRM | ID_LEAD, S_LOST);
                if (rng_chance(r, 0.3))
                        plan_add(p,
                                 later(r, t, 20.0 * FD_DAY_MS, 14 * FD_DAY_MS),
                                 F_CRM | ID_LEAD, S_RECYCLED);
        }
        return t_sql;
}

/* Everything after a new lead was created at t. */
static void plan_lead_life(fd_gen_rng *r, int64_t t, fd_gen_plan *p)
{
        int n = 0, sql, unsub = 0;
        int64_t last;

        if (rng_chance(r, 0.25))
                plan_add(p,
                         t + fd_gen_rng_range(r, 2 * FD_MINUTE_MS,
                                              2 * FD_HOUR_MS),
                         F_CRM | ID_LEAD, S_LEAD);
        if (rng_chance(r, 0.8)) {
                n = 1;
                while (n < 20 && rng_chance(r, 0.72))
                        n++;
        }
        sql = n > 0 && rng_chance(r, 0.35);
        last = plan_activities(r, t, n, sql, !sql, &unsub, p);
        if (sql) {
                int64_t t_sql = plan_deal(r, last, p);
                int more = rng_below(r, 4);

                plan_activities(r, t_sql, more, 0, 0, &unsub, p);
        } else if (n > 0 && !unsub && rng_chance(r, 0.04)) {
                plan_add(p, later(r, last, 20.0 * FD_DAY_MS, 7 * FD_DAY_MS),
                         F_CRM | ID_LEAD, S_RECYCLED);
        }
}

/* The identify / form fill, same session as the last visit or a later one. */
static int64_t plan_identify(fd_gen_rng *r, int64_t t, fd_gen_plan *p)
{
        const fd_gen_step last = p->steps[p->cnt - 1];
        int what = rng_chance(r, 0.65) ? T_FORM_SUBMIT : T_IDENTIFY;
        fd_gen_step *s;

        if (p->oom)
                return t;
        if (rng_chance(r, 0.6)) {
                t += fd_gen_rng_range(r, FD_MINUTE_MS, 30 * FD_MINUTE_MS);
                s = plan_add(p, t, ID_LEAD | ID_ANON | F_UTM, what);
                s->channel = last.channel;
                s->campaign = last.campaign;
                s->detail = last.detail; /* same landing URL */
        } else {
                t = later(r, t, 2.0 * FD_DAY_MS, 10 * FD_MINUTE_MS);
                s = plan_add(p, t, ID_LEAD | ID_ANON | F_UTM, what);
                set_channel(r, s, pick_channel(r));
        }
        return t;
}

/* Stable insertion sort by time (plans are short). */
static void plan_sort(fd_gen_plan *p)
{
        size_t i, k;

        for (i = 1; i < p->cnt; i++) {
                fd_gen_step s = p->steps[i];

                for (k = i; k > 0 && p->steps[k - 1].at > s.at; k--)
                        p->steps[k] = p->steps[k - 1];
                p->steps[k] = s;
        }
}

/* Plans one journey starting at t into p (reset first). may_return: the
 * tenant has leads, so a known lead may come back on a new device. */
void fd_gen_plan_journey(fd_gen_rng *r, int64_t t, int may_return,
                         fd_gen_plan *p)
{
        double u = fd_gen_rng_unit(r);

        p->cnt = 0;
        p->uses_anon = 0;
        p->lead_mode = FD_GEN_LEAD_NONE;
        p->uses_opp = 0;
        if (u < 0.07) {
                /* offline: badge scan at a trade show, list import */
                fd_gen_step *s =
                        plan_add(p, daytime(r, t), ID_LEAD, T_FORM_SUBMIT);

                s->channel = CH_EVENTS;
                s->campaign = (uint8_t)(1 + rng_below(r, 2));
                p->lead_mode = FD_GEN_LEAD_NEW;
                plan_lead_life(r, s->at, p);
        } else {
                p->uses_anon = 1;
                t = plan_visits(r, t, p);
                if (u >= 0.37) {
                        int unsub = 0;

                        t = plan_identify(r, t, p);
                        if (may_return && rng_chance(r, 0.08)) {
                                p->lead_mode = FD_GEN_LEAD_EXISTING;
                                plan_activities(r, t, rng_below(r, 4), 0, 0,
                                                &unsub, p);
                        } else {
                                p->lead_mode = FD_GEN_LEAD_NEW;
                                plan_lead_life(r, t, p);
                        }
                }
        }
        plan_sort(p);
}

/* A lead's profile depends only on (seed, tenant, lead number), so a lead
 * that comes back on another device keeps its attributes and owner. */
void fd_gen_actor_profile(uint64_t seed, int tenant, fd_gen_actor *a)
{
        int job_w[JOB_CNT], i;
        fd_gen_rng r;

        fd_gen_rng_seed(&r, seed ^ UINT64_C(0x1ead), (uint64_t)tenant,
                        (uint64_t)a->lead_no);
        for (i = 0; i < JOB_CNT; i++)
                job_w[i] = jobs[i].weight;
        a->job = (uint8_t)rng_weighted(&r, job_w, JOB_CNT);
        a->size = (uint8_t)rng_weighted(&r, size_weight, NELEM(sizes));
        a->industry =
                (uint8_t)rng_weighted(&r, industry_weight, NELEM(industries));
        a->country =
                (uint8_t)rng_weighted(&r, country_weight, NELEM(countries));
        a->owner = (uint8_t)rng_below(&r, NELEM(owners));
}

/* ---- events from steps ------------------------------------------------ */

/* Returns a heap copy of s (NULL stays NULL); sets *oom on failure. */
static char *xstrdup(const char *s, int *oom)
{
        char *d;

        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                *oom = 1;
        return d;
}

/* Returns a heap string formatted from fmt; sets *oom on failure. */
static char *xfmt(int *oom, const char *fmt, ...)
{
        char buf[160];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        return xstrdup(buf, oom);
}

/* UTM parameters of a landing; s->detail picks source, term and content.
 * The strings are owned by le. */
static void build_utm(const fd_gen_step *s, fd_lead_event *le, int *oom)
{
        const channel_def *cd = &channel_defs[s->channel];
        int ns = count_strs(cd->sources, NELEM(cd->sources));
        int nt = count_strs(cd->terms, NELEM(cd->terms));
        int nc = count_strs(cd->contents, NELEM(cd->contents));
        int v = s->detail < 0 ? 0 : s->detail;
        int src = cd->paired && s->campaign != NO_CAMP ? s->campaign : v % ns;

        le->utm_source = xstrdup(cd->sources[src], oom);
        le->utm_medium = xstrdup(cd->medium, oom);
        if (s->campaign != NO_CAMP)
                le->utm_campaign = xstrdup(cd->campaigns[s->campaign], oom);
        if (nt > 0)
                le->utm_term = xstrdup(cd->terms[(v / 7) % nt], oom);
        if (nc > 0 && (v / 49) % 5 != 0)
                le->utm_content = xstrdup(cd->contents[(v / 245) % nc], oom);
}

/* Profile attributes of an identify or form fill; a few forms lack some.
 * The attribute array and strings are owned by le (fd_event_clear). */
static void build_attrs(const fd_gen_actor *j, fd_gen_rng *r, fd_lead_event *le,
                        int *oom)
{
        const char *kv[10];
        size_t n = 0, i;

        kv[n++] = "job_title";
        kv[n++] = jobs[j->job].title;
        kv[n++] = "persona";
        kv[n++] = jobs[j->job].persona;
        if (rng_chance(r, 0.95)) {
                kv[n++] = "company_size";
                kv[n++] = sizes[j->size];
        }
        if (rng_chance(r, 0.95)) {
                kv[n++] = "industry";
                kv[n++] = industries[j->industry];
        }
        kv[n++] = "country";
        kv[n++] = countries[j->country];
        le->attrs = calloc(n / 2, sizeof(*le->attrs));
        if (!le->attrs) {
                *oom = 1;
                return;
        }
        le->attr_cnt = n / 2;
        for (i = 0; i < n / 2; i++) {
                le->attrs[i].key = xstrdup(kv[2 * i], oom);
                le->attrs[i].value = xstrdup(kv[2 * i + 1], oom);
        }
}

/* Fills le's fields with heap strings owned by le; sets *oom on failure. */
static void build_lead(const fd_gen_actor *a, const fd_gen_step *s,
                       fd_gen_rng *r, fd_lead_event *le, int *oom)
{
        le->type = xstrdup(lead_types[s->what], oom);
        if (s->flags & ID_LEAD)
                le->lead_id =
                        xfmt(oom, "lead-%s-%" PRId64, a->tenant_id, a->lead_no);
        if (s->flags & ID_ANON)
                le->anonymous_id =
                        xfmt(oom, "anon-%s-%" PRId64, a->tenant_id, a->anon_no);
        if (s->channel != CH_NONE) {
                const channel_def *cd = &channel_defs[s->channel];

                le->channel = xstrdup(channel_mix[s->channel].name, oom);
                if (s->campaign != NO_CAMP)
                        le->campaign = xstrdup(cd->campaigns[s->campaign], oom);
                if ((s->flags & F_UTM) && cd->medium)
                        build_utm(s, le, oom);
        }
        if (s->what == T_FORM_SUBMIT || s->what == T_IDENTIFY)
                build_attrs(a, r, le, oom);
}

/* Fills ce's fields with heap strings owned by ce; sets *oom on failure. */
static void build_crm(const fd_gen_actor *a, const fd_gen_step *s,
                      fd_crm_event *ce, int *oom)
{
        ce->lead_id = xfmt(oom, "lead-%s-%" PRId64, a->tenant_id, a->lead_no);
        ce->stage = xstrdup(crm_stages[s->what], oom);
        if (s->what == S_OPP || s->what == S_WON || s->what == S_LOST)
                ce->opportunity_id =
                        xfmt(oom, "opp-%s-%" PRId64, a->tenant_id, a->opp_no);
        if (s->detail >= 0) {
                ce->has_amount = 1;
                ce->amount_minor = (int64_t)s->detail * 100;
                ce->currency = xstrdup(a->currency, oom);
        }
        ce->owner = xstrdup(owners[a->owner], oom);
}

/* Fills out (caller-owned strings after) from step s of actor a. */
int fd_gen_step_event(const fd_gen_actor *a, const fd_gen_step *s,
                      fd_gen_rng *r, const char *event_id, fd_event *out)
{
        int oom = 0;

        memset(out, 0, sizeof(*out));
        if (s->flags & F_CRM) {
                out->kind = FD_EV_CRM;
                out->u.crm.event_id = xstrdup(event_id, &oom);
                out->u.crm.tenant_id = xstrdup(a->tenant_id, &oom);
                out->u.crm.occurred_at = s->at;
                build_crm(a, s, &out->u.crm, &oom);
        } else {
                out->kind = FD_EV_LEAD;
                out->u.lead.event_id = xstrdup(event_id, &oom);
                out->u.lead.tenant_id = xstrdup(a->tenant_id, &oom);
                out->u.lead.occurred_at = s->at;
                build_lead(a, s, r, &out->u.lead, &oom);
        }
        if (!oom)
                return 0;
        fd_event_clear(out);
        return -1;
}

/* ---- spend ------------------------------------------------------------ */

#define SPEND_SALT UINT64_C(0x5be4d)

/* A paid channel's spend: how often it reports, the range of a day's spend
 * of the biggest tenant in whole currency units (log-uniform), and the
 * factor on Saturdays and Sundays. */
static const struct {
        int channel;
        double daily;
        double lo, hi;
        double weekend;
} spend_defs[FD_GEN_SPEND_CHANNELS] = {
        {CH_PAID_SEARCH, 1.0, 400.0, 3000.0, 0.6},
        {CH_PAID_SOCIAL, 1.0, 250.0, 2200.0, 0.7},
        {CH_EMAIL, 1.0, 80.0, 450.0, 0.3},
        {CH_EVENTS, 0.12, 1500.0, 9000.0, 1.0},
};

/* Appends a copy of s to l; sets l->oom when memory runs out. */
static void spend_add(fd_gen_spend_list *l, const fd_gen_spend *s)
{
        if (l->cnt == l->cap) {
                size_t cap = l->cap ? 2 * l->cap : 64;
                fd_gen_spend *n = realloc(l->items, cap * sizeof(*n));

                if (!n) {
                        l->oom = 1;
                        return;
                }
                l->items = n;
                l->cap = cap;
        }
        l->items[l->cnt] = *s;
        l->items[l->cnt].seq = (uint32_t)l->cnt;
        l->cnt++;
}

/* The random numbers of one (tenant, day, slot); purpose keeps the day's
 * amounts apart from its correction. */
static void spend_rng(fd_gen_rng *r, uint64_t seed, int tenant, int32_t day,
                      int slot, int purpose)
{
        fd_gen_rng_seed(r, seed ^ SPEND_SALT, (uint64_t)tenant,
                        ((uint64_t)(uint32_t)day << 8) |
                                (uint64_t)(slot << 2 | purpose));
}

/* When the reports of (tenant, day, slot) arrive: 00:30 to 01:15 the next
 * day, on a whole second. */
static int64_t spend_reported(uint64_t seed, int tenant, int32_t day, int slot)
{
        fd_gen_rng r;

        spend_rng(&r, seed, tenant, day, slot, 2);
        return ((int64_t)day + 1) * FD_DAY_MS + 30 * FD_MINUTE_MS +
               fd_gen_rng_range(&r, 0, 45 * 60) * 1000;
}

/* The day's own reports of (tenant, day, slot), without corrections. */
static void spend_day(uint64_t seed, int tenant, double scale, int slot,
                      int32_t day, double dup_rate, fd_gen_spend_list *l)
{
        const channel_def *cd = &channel_defs[spend_defs[slot].channel];
        int ncamp = count_strs(cd->campaigns, NELEM(cd->campaigns));
        int dow = fd_weekday_of(day); /* 0 = Sunday */
        int active[MAX_CAMPAIGNS], nact = 0, i;
        double lo = log(spend_defs[slot].lo), hi = log(spend_defs[slot].hi);
        double w[MAX_CAMPAIGNS], wsum = 0, whole;
        int64_t total, left;
        fd_gen_spend s = {0};
        fd_gen_rng r;

        spend_rng(&r, seed, tenant, day, slot, 0);
        if (!rng_chance(&r, spend_defs[slot].daily))
                return;
        whole = exp(lo + fd_gen_rng_unit(&r) * (hi - lo)) * scale;
        if (dow == 0 || dow == 6)
                whole *= spend_defs[slot].weekend;
        total = (int64_t)(whole * 100.0);
        if (total < 100)
                total = 100;
        s.at = spend_reported(seed, tenant, day, slot);
        s.day = day;
        s.tenant = tenant;
        s.channel = (uint8_t)spend_defs[slot].channel;
        s.campaign = NO_CAMP;
        if (ncamp > 0 && !rng_chance(&r, 0.3)) {
                for (i = 0; i < ncamp; i++)
                        if (rng_chance(&r, 0.7))
                                active[nact++] = i;
                if (nact == 0)
                        active[nact++] = rng_below(&r, ncamp);
        }
        for (i = 0; i < nact; i++)
                wsum += w[i] = 0.5 + fd_gen_rng_unit(&r);
        left = total;
        for (i = 0; i < (nact > 0 ? nact : 1); i++) {
                if (nact > 0) {
                        s.campaign = (uint8_t)active[i];
                        s.amount = i == nact - 1 ? left
                                                 : (int64_t)((double)total *
                                                             w[i] / wsum);
                        left -= s.amount;
                } else {
                        s.amount = total;
                }
                spend_add(l, &s);
                if (dup_rate > 0 && rng_chance(&r, dup_rate))
                        spend_add(l, &s); /* re-sent as is */
                s.at += 1000;
        }
}

void fd_gen_plan_spend(uint64_t seed, int tenant, double scale, int slot,
                       int32_t day, int32_t first_day, double dup_rate,
                       fd_gen_spend_list *l)
{
        size_t n0 = l->cnt, n1;
        int32_t fixed;
        fd_gen_spend fix;
        fd_gen_rng r;
        double f;

        spend_day(seed, tenant, scale, slot, day, dup_rate, l);
        n1 = l->cnt;
        spend_rng(&r, seed, tenant, day, slot, 1);
        if (l->oom || !rng_chance(&r, 0.03))
                return;
        /* A correction of an earlier report: recompute that day, take one
         * of its reports, and reduce it by 5 to 30 %. */
        fixed = day - 1 - (int32_t)rng_below(&r, 5);
        if (fixed < first_day)
                return;
        spend_day(seed, tenant, scale, slot, fixed, dup_rate, l);
        if (l->oom || l->cnt == n1) {
                l->cnt = n1;
                return;
        }
        fix = l->items[n1 + (size_t)rng_below(&r, (int)(l->cnt - n1))];
        l->cnt = n1;
        f = 0.05 + 0.25 * fd_gen_rng_unit(&r);
        fix.amount = -(int64_t)((double)fix.amount * f);
        if (fix.amount == 0)
                fix.amount = -1;
        fix.at = spend_reported(seed, tenant, day, slot) +
                 (int64_t)(n1 - n0 + 1) * 1000;
        fix.flags = FD_GEN_SPEND_FIX;
        spend_add(l, &fix);
        if (dup_rate > 0 && rng_chance(&r, dup_rate))
                spend_add(l, &fix);
}

int fd_gen_spend_event(uint64_t seed, const char *tenant_id,
                       const char *currency, const fd_gen_spend *s,
                       fd_event *out)
{
        const channel_def *cd = &channel_defs[s->channel];
        const char *campaign =
                s->campaign != NO_CAMP ? cd->campaigns[s->campaign] : NULL;
        fd_spend_event *se = &out->u.spend;
        char day[16], reported[16], id[256];
        int oom = 0;

        memset(out, 0, sizeof(*out));
        out->kind = FD_EV_SPEND;
        fd_day_format(s->day, day, sizeof(day));
        fd_day_format(s->at / FD_DAY_MS - 1, reported, sizeof(reported));
        snprintf(id, sizeof(id), "%s-s%" PRIu64 "-spend-%s-%s%s%s%s%s",
                 tenant_id, seed, day, channel_mix[s->channel].name,
                 campaign ? "-" : "", campaign ? campaign : "",
                 s->flags & FD_GEN_SPEND_FIX ? "-fix-" : "",
                 s->flags & FD_GEN_SPEND_FIX ? reported : "");
        se->event_id = xstrdup(id, &oom);
        se->tenant_id = xstrdup(tenant_id, &oom);
        se->occurred_at = s->at;
        se->channel = xstrdup(channel_mix[s->channel].name, &oom);
        se->campaign = xstrdup(campaign, &oom);
        se->day = xstrdup(day, &oom);
        se->has_amount = 1;
        se->amount_minor = s->amount;
        se->currency = xstrdup(currency, &oom);
        if (!oom)
                return 0;
        fd_event_clear(out);
        return -1;
}

const fd_gen_share *fd_gen_channel_mix(size_t *cnt)
{
        *cnt = CH_COUNT;
        return channel_mix;
}
