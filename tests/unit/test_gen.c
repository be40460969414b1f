/* Unit tests of the synthetic stream generator: determinism, order,
 * validity, realism (channel mix, identity stitching, deals, spend),
 * duplicates, and that its events survive the Avro codec. No network. */
#include <stdlib.h>

#include "fdtest.h"
#include "funneld/codec.h"
#include "funneld/timebucket.h"
#include "gen.h"

#define DAY_MS INT64_C(86400000)

static char errstr[512];

/* ---- helpers ---------------------------------------------------------- */

#define S(x) ((x) ? (x) : "~")

/* Writes every field of ev as one line into buf. */
static void event_line(const fd_event *ev, char *buf, size_t size)
{
        int n;
        size_t i;

        if (ev->kind == FD_EV_SPEND) {
                const fd_spend_event *p = &ev->u.spend;

                snprintf(buf, size,
                         "P|%s|%s|%" PRId64 "|%s|%s|%s|%d|%" PRId64 "|%s",
                         S(p->event_id), S(p->tenant_id), p->occurred_at,
                         S(p->channel), S(p->campaign), S(p->day),
                         p->has_amount, p->amount_minor, S(p->currency));
                return;
        }
        if (ev->kind == FD_EV_CRM) {
                const fd_crm_event *c = &ev->u.crm;

                snprintf(buf, size,
                         "C|%s|%s|%" PRId64 "|%s|%s|%s|%d|%" PRId64 "|%s|%s",
                         S(c->event_id), S(c->tenant_id), c->occurred_at,
                         S(c->lead_id), S(c->stage), S(c->opportunity_id),
                         c->has_amount, c->amount_minor, S(c->currency),
                         S(c->owner));
                return;
        }
        const fd_lead_event *l = &ev->u.lead;
        n = snprintf(
                buf, size, "L|%s|%s|%" PRId64 "|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s",
                S(l->event_id), S(l->tenant_id), l->occurred_at, S(l->lead_id),
                S(l->anonymous_id), S(l->type), S(l->channel), S(l->campaign),
                S(l->utm_source), S(l->utm_medium), S(l->utm_campaign),
                S(l->utm_term), S(l->utm_content));
        for (i = 0; i < l->attr_cnt && n > 0 && (size_t)n < size; i++)
                n += snprintf(buf + n, size - (size_t)n, "|%s=%s",
                              S(l->attrs[i].key), S(l->attrs[i].value));
}

static const char *event_id(const fd_event *ev)
{
        if (ev->kind == FD_EV_SPEND)
                return ev->u.spend.event_id;
        return ev->kind == FD_EV_LEAD ? ev->u.lead.event_id
                                      : ev->u.crm.event_id;
}

static int64_t event_time(const fd_event *ev)
{
        if (ev->kind == FD_EV_SPEND)
                return ev->u.spend.occurred_at;
        return ev->kind == FD_EV_LEAD ? ev->u.lead.occurred_at
                                      : ev->u.crm.occurred_at;
}

static int nonempty(const char *s)
{
        return s && *s;
}

static int starts_with(const char *s, const char *prefix)
{
        return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A string -> value map (open addressing) for the tests' bookkeeping. */
typedef struct strmap_t {
        char **keys;
        char **vals;
        size_t cap;
} strmap_t;

static void sm_init(strmap_t *m, size_t cap)
{
        m->cap = cap;
        m->keys = calloc(cap, sizeof(char *));
        m->vals = calloc(cap, sizeof(char *));
}

static size_t sm_slot(const strmap_t *m, const char *key)
{
        uint64_t h = 1469598103934665603ULL;
        const char *p;
        size_t i;

        for (p = key; *p; p++)
                h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        for (i = h & (m->cap - 1); m->keys[i] && strcmp(m->keys[i], key);
             i = (i + 1) & (m->cap - 1))
                ;
        return i;
}

/* The value stored under key, or NULL. */
static const char *sm_get(const strmap_t *m, const char *key)
{
        return m->vals[sm_slot(m, key)];
}

/* Stores a copy of key and val unless key is present. */
static void sm_put(strmap_t *m, const char *key, const char *val)
{
        size_t i = sm_slot(m, key);

        if (m->keys[i])
                return;
        m->keys[i] = strdup(key);
        m->vals[i] = strdup(val);
}

static void sm_free(strmap_t *m)
{
        size_t i;

        for (i = 0; i < m->cap; i++) {
                free(m->keys[i]);
                free(m->vals[i]);
        }
        free(m->keys);
        free(m->vals);
}

static fd_gen *gen_with(uint64_t seed, int64_t events, double dup_rate)
{
        fd_gen_conf conf;

        fd_gen_conf_init(&conf);
        conf.seed = seed;
        conf.target_events = events;
        conf.dup_rate = dup_rate;
        return fd_gen_new(&conf);
}

static fd_gen *spend_gen(uint64_t seed, int64_t events, double dup_rate)
{
        fd_gen_conf conf;

        fd_gen_conf_init(&conf);
        conf.seed = seed;
        conf.target_events = events;
        conf.dup_rate = dup_rate;
        conf.spend = 1;
        return fd_gen_new(&conf);
}

/* ---- tests ------------------------------------------------------------ */

static void test_same_seed_same_stream(void)
{
        fd_gen *a = gen_with(7, 5000, 0.01), *b = gen_with(7, 5000, 0.01);
        fd_event ea = {0}, eb = {0};
        char la[1024], lb[1024];
        int i, same = 0;

        FD_CHECK(a && b);
        for (i = 0; a && b && i < 5000; i++) {
                FD_CHECK_INT(fd_gen_next(a, &ea), 1);
                FD_CHECK_INT(fd_gen_next(b, &eb), 1);
                event_line(&ea, la, sizeof(la));
                event_line(&eb, lb, sizeof(lb));
                same += strcmp(la, lb) == 0;
                fd_event_clear(&ea);
                fd_event_clear(&eb);
        }
        FD_CHECK_INT(same, 5000);
        FD_CHECK_INT(fd_gen_next(a, &ea), 0);
        FD_CHECK_INT(fd_gen_next(b, &eb), 0);
        fd_gen_destroy(a);
        fd_gen_destroy(b);
}

static void test_different_seeds_differ(void)
{
        fd_gen *a = gen_with(1, 1000, 0.01), *b = gen_with(2, 1000, 0.01);
        fd_event ea = {0}, eb = {0};
        int i, diff = 0;

        FD_CHECK(a && b);
        for (i = 0; a && b && i < 1000; i++) {
                FD_CHECK_INT(fd_gen_next(a, &ea), 1);
                FD_CHECK_INT(fd_gen_next(b, &eb), 1);
                diff += event_time(&ea) != event_time(&eb);
                fd_event_clear(&ea);
                fd_event_clear(&eb);
        }
        FD_CHECK(diff > 950);
        fd_gen_destroy(a);
        fd_gen_destroy(b);
}

static const char *const stages[] = {"lead",        "mql",        "sql",
                                     "opportunity", "closed_won", "closed_lost",
                                     "recycled"};

/* The decoder's validity rules, plus the generator's own promises. */
static int valid(const fd_event *ev)
{
        size_t i;

        if (ev->kind == FD_EV_LEAD) {
                const fd_lead_event *l = &ev->u.lead;

                return nonempty(l->event_id) && nonempty(l->tenant_id) &&
                       nonempty(l->type) &&
                       (nonempty(l->lead_id) || nonempty(l->anonymous_id));
        }
        if (ev->kind != FD_EV_CRM)
                return 0;
        const fd_crm_event *c = &ev->u.crm;
        if (!nonempty(c->event_id) || !nonempty(c->tenant_id) ||
            !nonempty(c->lead_id) || (c->has_amount && c->amount_minor < 0) ||
            (c->has_amount && !nonempty(c->currency)))
                return 0;
        for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
                if (c->stage && strcmp(c->stage, stages[i]) == 0)
                        return 1;
        return 0;
}

static void test_order_and_validity(void)
{
        fd_gen_conf conf;
        fd_gen *gen;
        fd_event ev = {0};
        int64_t prev = 0, n = 0, bad = 0, backwards = 0, first = -1;

        fd_gen_conf_init(&conf);
        conf.target_events = 20000;
        gen = fd_gen_new(&conf);
        FD_CHECK(gen != NULL);
        while (gen && fd_gen_next(gen, &ev) == 1) {
                int64_t t = event_time(&ev);

                if (first < 0)
                        first = t;
                backwards += t < prev;
                bad += !valid(&ev);
                prev = t;
                n++;
                fd_event_clear(&ev);
        }
        FD_CHECK_INT(n, 20000);
        FD_CHECK_INT(backwards, 0);
        FD_CHECK_INT(bad, 0);
        /* the stream spans about the configured 60 days from the start */
        FD_CHECK(first >= conf.start_ms && first < conf.start_ms + DAY_MS);
        FD_CHECK(prev > conf.start_ms + 50 * DAY_MS);
        FD_CHECK(prev < conf.start_ms + 70 * DAY_MS);
        fd_gen_destroy(gen);
}

static void test_channel_mix(void)
{
        size_t cnt, i;
        const fd_gen_share *mix = fd_gen_channel_mix(&cnt);
        fd_gen *gen = gen_with(3, 20000, 0.0);
        int64_t seen[16] = {0}, total = 0, other = 0;
        fd_event ev = {0};

        FD_CHECK(gen && cnt == 7 && cnt <= 16);
        while (gen && fd_gen_next(gen, &ev) == 1) {
                const fd_lead_event *l = &ev.u.lead;

                /* anonymous visits draw their channel from the mix */
                if (ev.kind == FD_EV_LEAD && !l->lead_id) {
                        for (i = 0; i < cnt; i++)
                                if (l->channel &&
                                    strcmp(l->channel, mix[i].name) == 0)
                                        break;
                        if (i < cnt)
                                seen[i]++;
                        else
                                other++;
                        total++;
                }
                fd_event_clear(&ev);
        }
        FD_CHECK(total > 5000);
        FD_CHECK_INT(other, 0);
        for (i = 0; i < cnt && total > 0; i++) {
                double pct = 100.0 * (double)seen[i] / (double)total;

                if (pct < mix[i].percent - 2.5 || pct > mix[i].percent + 2.5) {
                        fprintf(stderr, "channel %s: %.1f%%, want %d%%\n",
                                mix[i].name, pct, mix[i].percent);
                        FD_CHECK(0);
                }
        }
        fd_gen_destroy(gen);
}

/* UTM fields agree with the channel. */
static void test_utm_consistent(void)
{
        fd_gen *gen = gen_with(5, 5000, 0.0);
        fd_event ev = {0};
        int bad = 0, paid_with_campaign = 0;

        while (gen && fd_gen_next(gen, &ev) == 1) {
                const fd_lead_event *l = &ev.u.lead;

                if (ev.kind == FD_EV_LEAD && l->channel) {
                        if (!strcmp(l->channel, "paid_search") &&
                            l->utm_medium && strcmp(l->utm_medium, "cpc"))
                                bad++;
                        if (!strcmp(l->channel, "direct") && l->utm_source)
                                bad++;
                        if (!strcmp(l->channel, "email") && l->utm_medium &&
                            strcmp(l->utm_medium, "email"))
                                bad++;
                        if (l->utm_campaign &&
                            (!l->campaign ||
                             strcmp(l->utm_campaign, l->campaign)))
                                bad++;
                        if (!strcmp(l->type, "ad_click") &&
                            strncmp(l->channel, "paid_", 5))
                                bad++;
                        paid_with_campaign +=
                                !strcmp(l->channel, "paid_search") &&
                                l->utm_campaign && l->utm_term;
                }
                fd_event_clear(&ev);
        }
        FD_CHECK_INT(bad, 0);
        FD_CHECK(paid_with_campaign > 100);
        fd_gen_destroy(gen);
}

/* Anonymous touches are later stitched by an identify / form fill carrying
 * both ids; some known leads come back on another device. */
static void test_identity_stitching(void)
{
        fd_gen *gen = gen_with(11, 20000, 0.0);
        strmap_t anon_seen, lead_anon;
        fd_event ev = {0};
        int stitched = 0, never = 0, returning = 0, lead_only = 0;
        size_t i;

        sm_init(&anon_seen, 1 << 16);
        sm_init(&lead_anon, 1 << 16);
        while (gen && fd_gen_next(gen, &ev) == 1) {
                const fd_lead_event *l = &ev.u.lead;

                if (ev.kind == FD_EV_LEAD && l->anonymous_id && !l->lead_id)
                        sm_put(&anon_seen, l->anonymous_id, "anon");
                if (ev.kind == FD_EV_LEAD && l->lead_id && l->anonymous_id &&
                    (!strcmp(l->type, "identify") ||
                     !strcmp(l->type, "form_submit"))) {
                        const char *prev = sm_get(&lead_anon, l->lead_id);

                        stitched += sm_get(&anon_seen, l->anonymous_id) != 0;
                        returning += prev && strcmp(prev, l->anonymous_id);
                        FD_CHECK(l->attr_cnt >= 3);
                        FD_CHECK(fd_lead_event_attr(l, "job_title") != NULL);
                        FD_CHECK(fd_lead_event_attr(l, "persona") != NULL);
                        sm_put(&lead_anon, l->lead_id, l->anonymous_id);
                        sm_put(&anon_seen, l->anonymous_id, "identified");
                }
                lead_only +=
                        ev.kind == FD_EV_LEAD && l->lead_id && !l->anonymous_id;
                fd_event_clear(&ev);
        }
        for (i = 0; i < anon_seen.cap; i++)
                never += anon_seen.vals[i] &&
                         strcmp(anon_seen.vals[i], "anon") == 0;
        FD_CHECK(stitched > 200);
        FD_CHECK(never > 100); /* some visitors never identify */
        FD_CHECK(returning > 0);
        FD_CHECK(lead_only > 1000);
        sm_free(&anon_seen);
        sm_free(&lead_anon);
        fd_gen_destroy(gen);
}

/* Deals follow the funnel: sql before opportunity before closing, a
 * closed_won carries a sane amount and the opportunity's id. */
static void test_deals(void)
{
        fd_gen *gen = gen_with(1, 20000, 0.0);
        strmap_t lead_stage, opp_lead;
        fd_event ev = {0};
        int won = 0, lost = 0, opps = 0, sqls = 0, out_of_order = 0, bad = 0;

        sm_init(&lead_stage, 1 << 15);
        sm_init(&opp_lead, 1 << 14);
        while (gen && fd_gen_next(gen, &ev) == 1) {
                const fd_crm_event *c = &ev.u.crm;

                if (ev.kind != FD_EV_CRM) {
                        fd_event_clear(&ev);
                        continue;
                }
                if (!strcmp(c->stage, "sql")) {
                        sqls++;
                        sm_put(&lead_stage, c->lead_id, "sql");
                } else if (!strcmp(c->stage, "opportunity")) {
                        opps++;
                        out_of_order += !sm_get(&lead_stage, c->lead_id);
                        bad += !starts_with(c->opportunity_id, "opp-t") ||
                               !c->has_amount;
                        if (c->opportunity_id)
                                sm_put(&opp_lead, c->opportunity_id,
                                       c->lead_id);
                } else if (!strcmp(c->stage, "closed_won") ||
                           !strcmp(c->stage, "closed_lost")) {
                        int is_won = c->stage[7] == 'w';
                        const char *lead =
                                c->opportunity_id
                                        ? sm_get(&opp_lead, c->opportunity_id)
                                        : NULL;

                        won += is_won;
                        lost += !is_won;
                        out_of_order += !lead || strcmp(lead, c->lead_id);
                        if (is_won)
                                bad += !c->has_amount ||
                                       c->amount_minor < 500000 ||
                                       c->amount_minor > 20000000 ||
                                       !c->currency || !nonempty(c->owner);
                }
                fd_event_clear(&ev);
        }
        FD_CHECK(sqls > 200);
        FD_CHECK(opps > 0.35 * sqls && opps < 0.65 * sqls);
        FD_CHECK(won >= 5);
        FD_CHECK(lost > won);
        FD_CHECK_INT(out_of_order, 0);
        FD_CHECK_INT(bad, 0);
        sm_free(&lead_stage);
        sm_free(&opp_lead);
        fd_gen_destroy(gen);
}

/* Re-sent duplicates: same id and content, at about dup_rate; other ids are
 * unique. */
static void count_dups(double rate, int64_t n, int64_t *dups, int64_t *diff)
{
        fd_gen *gen = gen_with(9, n, rate);
        strmap_t seen;
        fd_event ev = {0};
        char line[1024];

        *dups = *diff = 0;
        sm_init(&seen, 1 << 17);
        while (gen && fd_gen_next(gen, &ev) == 1) {
                const char *prev = sm_get(&seen, event_id(&ev));

                event_line(&ev, line, sizeof(line));
                if (prev) {
                        (*dups)++;
                        *diff += strcmp(prev, line) != 0;
                } else {
                        sm_put(&seen, event_id(&ev), line);
                }
                fd_event_clear(&ev);
        }
        sm_free(&seen);
        fd_gen_destroy(gen);
}

static void test_duplicates(void)
{
        int64_t dups, diff;

        count_dups(0.05, 40000, &dups, &diff);
        FD_CHECK(dups > 0.04 * 40000 && dups < 0.06 * 40000);
        FD_CHECK_INT(diff, 0);
        count_dups(0.0, 20000, &dups, &diff);
        FD_CHECK_INT(dups, 0);
        count_dups(0.01, 40000, &dups, &diff);
        FD_CHECK(dups > 0.006 * 40000 && dups < 0.014 * 40000);
        FD_CHECK_INT(diff, 0);
}

static void test_target_and_endless(void)
{
        fd_gen *gen = gen_with(4, 123, 0.01);
        fd_event ev = {0};
        int n = 0;

        while (gen && fd_gen_next(gen, &ev) == 1) {
                n++;
                fd_event_clear(&ev);
        }
        FD_CHECK_INT(n, 123);
        FD_CHECK_INT(fd_gen_next(gen, &ev), 0);
        FD_CHECK_INT(ev.kind, FD_EV_NONE);
        fd_gen_destroy(gen);

        gen = gen_with(4, 0, 0.01); /* endless */
        for (n = 0; gen && n < 50000 && fd_gen_next(gen, &ev) == 1; n++)
                fd_event_clear(&ev);
        FD_CHECK_INT(n, 50000);
        fd_gen_destroy(gen); /* with journeys in flight */
}

static void test_tenants(void)
{
        fd_gen_conf conf;
        fd_gen *gen;
        fd_event ev = {0};
        int per[6] = {0}, eur = 0, usd_t2 = 0, crossed = 0;

        fd_gen_conf_init(&conf);
        conf.tenants = 5;
        conf.target_events = 20000;
        gen = fd_gen_new(&conf);
        while (gen && fd_gen_next(gen, &ev) == 1) {
                const char *t = ev.kind == FD_EV_LEAD ? ev.u.lead.tenant_id
                                                      : ev.u.crm.tenant_id;
                const char *lead = ev.kind == FD_EV_LEAD ? ev.u.lead.lead_id
                                                         : ev.u.crm.lead_id;
                char prefix[32];
                int k = atoi(t + 1);

                FD_CHECK(t[0] == 't' && k >= 1 && k <= 5);
                per[k >= 1 && k <= 5 ? k : 0]++;
                snprintf(prefix, sizeof(prefix), "lead-%s-", t);
                crossed += lead && !starts_with(lead, prefix);
                if (ev.kind == FD_EV_CRM && ev.u.crm.currency) {
                        eur += !strcmp(ev.u.crm.currency, "EUR");
                        usd_t2 += k == 2 && strcmp(ev.u.crm.currency, "EUR");
                }
                fd_event_clear(&ev);
        }
        FD_CHECK(per[1] > per[5] && per[5] > 500);
        FD_CHECK(eur > 0);
        FD_CHECK_INT(usd_t2, 0);
        FD_CHECK_INT(crossed, 0);
        fd_gen_destroy(gen);
}

static void test_conf_check(void)
{
        fd_gen_conf conf;

        fd_gen_conf_init(&conf);
        FD_CHECK_INT(fd_gen_conf_check(&conf, errstr, sizeof(errstr)), 0);
        conf.tenants = 0;
        FD_CHECK_INT(fd_gen_conf_check(&conf, errstr, sizeof(errstr)), -1);
        FD_CHECK(strstr(errstr, "tenants") != NULL);
        FD_CHECK(fd_gen_new(&conf) == NULL);
        fd_gen_conf_init(&conf);
        conf.dup_rate = 0.9;
        FD_CHECK_INT(fd_gen_conf_check(&conf, errstr, sizeof(errstr)), -1);
        FD_CHECK(strstr(errstr, "duplicate") != NULL);
        fd_gen_conf_init(&conf);
        conf.days = 0;
        FD_CHECK(fd_gen_new(&conf) == NULL);
        fd_gen_conf_init(&conf);
        conf.spend = 2;
        FD_CHECK_INT(fd_gen_conf_check(&conf, errstr, sizeof(errstr)), -1);
        FD_CHECK(strstr(errstr, "spend") != NULL);
}

static const char *src_path(const char *rel)
{
        static char path[4][4096];
        static int slot;
        const char *dir = getenv("FUNNELD_SOURCE_DIR");

        slot = (slot + 1) % 4;
        snprintf(path[slot], sizeof(path[slot]), "%s/%s", dir ? dir : ".", rel);
        return path[slot];
}

/* What the generator makes (spend too), the codec encodes and decodes
 * unchanged. */
static void test_codec_round_trip(void)
{
        fd_decode_limits limits = {1 << 20, 946684800000LL, 4102444799999LL,
                                   NULL};
        fd_codec *codec =
                fd_codec_new(src_path("schemas"), errstr, sizeof(errstr));
        fd_gen *gen = spend_gen(2, 3000, 0.0);
        int spend = 0;
        fd_event ev = {0}, back = {0};
        fd_buf buf = {0};
        char a[1024], b[1024];
        int same = 0, n = 0;

        FD_CHECK(codec != NULL);
        if (!codec) {
                fprintf(stderr, "%s\n", errstr);
                fd_gen_destroy(gen);
                return;
        }
        FD_CHECK_INT(fd_codec_add_writer(codec, 1, FD_EV_LEAD,
                                         src_path("schemas/lead_event.avsc"),
                                         errstr, sizeof(errstr)),
                     0);
        FD_CHECK_INT(
                fd_codec_add_writer(codec, 2, FD_EV_CRM,
                                    src_path("schemas/crm_stage_event.avsc"),
                                    errstr, sizeof(errstr)),
                0);
        FD_CHECK_INT(fd_codec_add_writer(codec, 5, FD_EV_SPEND,
                                         src_path("schemas/spend_event.avsc"),
                                         errstr, sizeof(errstr)),
                     0);
        while (gen && fd_gen_next(gen, &ev) == 1) {
                int id = ev.kind == FD_EV_LEAD    ? 1
                         : ev.kind == FD_EV_SPEND ? 5
                                                  : 2;

                fd_buf_reset(&buf);
                n++;
                spend += ev.kind == FD_EV_SPEND;
                if (fd_codec_encode_event(codec, id, &ev, &buf, errstr,
                                          sizeof(errstr)) == 0 &&
                    fd_codec_decode(codec, ev.kind, buf.data, buf.len, &limits,
                                    &back, errstr,
                                    sizeof(errstr)) == FD_DECODE_OK) {
                        event_line(&ev, a, sizeof(a));
                        event_line(&back, b, sizeof(b));
                        same += strcmp(a, b) == 0;
                } else {
                        fprintf(stderr, "%s\n", errstr);
                }
                fd_event_clear(&back);
                fd_event_clear(&ev);
        }
        FD_CHECK_INT(n, 3000);
        FD_CHECK_INT(same, 3000);
        FD_CHECK(spend > 20);
        fd_buf_free(&buf);
        fd_codec_destroy(codec);
        fd_gen_destroy(gen);
}

/* ---- spend ------------------------------------------------------------ */

static void test_spend_off_by_default(void)
{
        fd_gen_conf conf;
        fd_gen *gen;
        fd_event ev = {0};
        int64_t spend = 0, n = 0;

        fd_gen_conf_init(&conf);
        FD_CHECK_INT(conf.spend, 0);
        conf.target_events = 20000;
        gen = fd_gen_new(&conf);
        while (gen && fd_gen_next(gen, &ev) == 1) {
                spend += ev.kind == FD_EV_SPEND;
                n++;
                fd_event_clear(&ev);
        }
        FD_CHECK_INT(n, 20000);
        FD_CHECK_INT(spend, 0);
        fd_gen_destroy(gen);
}

static int paid_channel(const char *ch)
{
        return ch &&
               (!strcmp(ch, "paid_search") || !strcmp(ch, "paid_social") ||
                !strcmp(ch, "email") || !strcmp(ch, "events"));
}

/* Sums of amounts per (tenant, channel, campaign, day), for corrections. */
typedef struct spend_sum {
        char key[128];
        int64_t sum;
} spend_sum;

static spend_sum *sum_slot(spend_sum *sums, size_t cap, const char *key)
{
        uint64_t h = 1469598103934665603ULL;
        const char *p;
        size_t i;

        for (p = key; *p; p++)
                h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        for (i = h & (cap - 1); sums[i].key[0] && strcmp(sums[i].key, key);
             i = (i + 1) & (cap - 1))
                ;
        if (!sums[i].key[0])
                snprintf(sums[i].key, sizeof(sums[i].key), "%s", key);
        return &sums[i];
}

/* With spend on: spend events in time order with the rest, for valid days
 * before their report, sensible amounts in the tenant's currency, with and
 * without a campaign, a few corrections that never turn a day negative,
 * unique ids apart from exact re-sends; every tenant reports paid search
 * every day; the stream still spans about the configured days. */
static void test_spend_stream(void)
{
        const size_t cap = 1 << 14;
        fd_gen *gen = spend_gen(5, 20000, 0.01);
        spend_sum *sums = calloc(cap, sizeof(*sums));
        fd_event ev = {0};
        strmap_t seen;
        char line[1024], key[128];
        int64_t prev = 0, n = 0, spend = 0, backwards = 0, bad = 0, fixes = 0;
        int64_t with_camp = 0, without = 0, dups = 0, diff = 0, eur = 0;
        int64_t neg_days = 0, first_day = FD_GEN_DEFAULT_START_MS / DAY_MS;
        int64_t last_report_day = 0;
        int search_days[4][128] = {{0}};
        size_t i;

        FD_CHECK(gen != NULL && sums != NULL);
        sm_init(&seen, 1 << 16);
        while (gen && sums && fd_gen_next(gen, &ev) == 1) {
                int64_t t = event_time(&ev);

                backwards += t < prev;
                prev = t;
                n++;
                event_line(&ev, line, sizeof(line));
                if (sm_get(&seen, event_id(&ev))) {
                        dups++;
                        diff += strcmp(sm_get(&seen, event_id(&ev)), line) != 0;
                } else {
                        sm_put(&seen, event_id(&ev), line);
                }
                if (ev.kind == FD_EV_SPEND) {
                        const fd_spend_event *p = &ev.u.spend;
                        int64_t day = -1, reported = t / DAY_MS - 1;
                        int k = p->tenant_id ? atoi(p->tenant_id + 1) : 0;
                        int fix = p->amount_minor < 0;

                        spend++;
                        if (fd_day_parse(p->day ? p->day : "", &day, NULL,
                                         NULL) < 0 ||
                            day < first_day || day > reported ||
                            (!fix && day != reported) ||
                            (fix && (day < reported - 5 || day == reported)))
                                bad++;
                        /* reported 00:30 to 01:16 UTC the next day */
                        if (t % DAY_MS < 30 * 60000 || t % DAY_MS > 76 * 60000)
                                bad++;
                        if (!paid_channel(p->channel) || !p->has_amount ||
                            !nonempty(p->currency) || k < 1 || k > 3 ||
                            strcmp(p->currency, k == 2 ? "EUR" : "USD") ||
                            !starts_with(p->event_id, p->tenant_id))
                                bad++;
                        if (!fix && (p->amount_minor < 100 ||
                                     p->amount_minor > 1000000))
                                bad++;
                        if (fix != (strstr(p->event_id, "-fix-") != NULL))
                                bad++;
                        fixes += fix;
                        eur += !strcmp(S(p->currency), "EUR");
                        with_camp += p->campaign != NULL;
                        without += p->campaign == NULL;
                        if (p->channel && !strcmp(p->channel, "paid_search") &&
                            k >= 1 && k <= 3 && day >= first_day &&
                            day < first_day + 128 && !fix)
                                search_days[k][day - first_day] = 1;
                        last_report_day = reported;
                }
                fd_event_clear(&ev);
        }
        /* the per-day sums over the distinct events (a re-sent duplicate
         * counts once, as in funneld) */
        for (i = 0; i < seen.cap; i++) {
                const char *v = seen.vals[i];
                char tenant[16], ch[32], camp[64], day[16];
                long long amount;

                if (!v || v[0] != 'P')
                        continue;
                /* P|id|tenant|at|channel|campaign|day|1|amount|currency */
                if (sscanf(v,
                           "P|%*[^|]|%15[^|]|%*[^|]|%31[^|]|%63[^|]|%15[^|]|"
                           "%*d|%lld|",
                           tenant, ch, camp, day, &amount) != 5) {
                        bad++;
                        continue;
                }
                snprintf(key, sizeof(key), "%s|%s|%s|%s", tenant, ch, camp,
                         day);
                sum_slot(sums, cap, key)->sum += amount;
        }
        for (i = 0; sums && i < cap; i++)
                neg_days += sums[i].key[0] && sums[i].sum <= 0;
        FD_CHECK_INT(n, 20000);
        FD_CHECK_INT(backwards, 0);
        FD_CHECK_INT(bad, 0);
        FD_CHECK_INT(diff, 0);
        FD_CHECK_INT(neg_days, 0);
        /* about 20 reports a day of 3 tenants over about 60 days */
        FD_CHECK(spend > 600 && spend < 2500);
        FD_CHECK(fixes > 0 && fixes < spend / 20);
        FD_CHECK(dups > 0);
        FD_CHECK(with_camp > spend / 3 && without > spend / 10);
        FD_CHECK(eur > 0 && eur < spend / 2);
        for (int k = 1; k <= 3; k++)
                for (int64_t d = 0; d < last_report_day - first_day; d++)
                        if (!search_days[k][d]) {
                                fprintf(stderr,
                                        "t%d: no paid_search spend on "
                                        "day %" PRId64 "\n",
                                        k, d);
                                bad++;
                        }
        FD_CHECK_INT(bad, 0);
        FD_CHECK(last_report_day - first_day > 50);
        FD_CHECK(prev > FD_GEN_DEFAULT_START_MS + 50 * DAY_MS);
        FD_CHECK(prev < FD_GEN_DEFAULT_START_MS + 70 * DAY_MS);
        sm_free(&seen);
        free(sums);
        fd_gen_destroy(gen);
}

/* Same seed, same stream with spend; another seed, other amounts. */
static void test_spend_deterministic(void)
{
        fd_gen *a = spend_gen(11, 8000, 0.01), *b = spend_gen(11, 8000, 0.01);
        fd_gen *c = spend_gen(12, 8000, 0.01);
        fd_event ea = {0}, eb = {0}, ec = {0};
        char la[1024], lb[1024];
        int i, same = 0, spend = 0, c_spend = 0;
        int64_t sum_a = 0, sum_c = 0;

        FD_CHECK(a && b && c);
        for (i = 0; a && b && c && i < 8000; i++) {
                FD_CHECK_INT(fd_gen_next(a, &ea), 1);
                FD_CHECK_INT(fd_gen_next(b, &eb), 1);
                FD_CHECK_INT(fd_gen_next(c, &ec), 1);
                event_line(&ea, la, sizeof(la));
                event_line(&eb, lb, sizeof(lb));
                same += strcmp(la, lb) == 0;
                if (ea.kind == FD_EV_SPEND) {
                        spend++;
                        sum_a += ea.u.spend.amount_minor;
                }
                if (ec.kind == FD_EV_SPEND) {
                        c_spend++;
                        sum_c += ec.u.spend.amount_minor;
                }
                fd_event_clear(&ea);
                fd_event_clear(&eb);
                fd_event_clear(&ec);
        }
        FD_CHECK_INT(same, 8000);
        FD_CHECK(spend > 0 && c_spend > 0);
        FD_CHECK(sum_a != sum_c);
        FD_CHECK_INT(fd_gen_next(a, &ea), 0);
        fd_gen_destroy(a);
        fd_gen_destroy(b);
        fd_gen_destroy(c);
}

/* Many tenants: only the biggest ones report spend, so spend takes about
 * half of the events at most; an endless stream keeps reporting. */
static void test_spend_many_tenants(void)
{
        fd_gen_conf conf;
        fd_gen *gen;
        fd_event ev = {0};
        int64_t n = 0, spend = 0, prev = 0, backwards = 0, t1 = 0, t200 = 0;

        fd_gen_conf_init(&conf);
        conf.tenants = 200;
        conf.target_events = 0;
        conf.spend = 1;
        gen = fd_gen_new(&conf);
        FD_CHECK(gen != NULL);
        while (gen && n < 60000 && fd_gen_next(gen, &ev) == 1) {
                int64_t t = event_time(&ev);

                backwards += t < prev;
                prev = t;
                if (ev.kind == FD_EV_SPEND) {
                        spend++;
                        t1 += !strcmp(ev.u.spend.tenant_id, "t1");
                        t200 += !strcmp(ev.u.spend.tenant_id, "t200");
                }
                n++;
                fd_event_clear(&ev);
        }
        FD_CHECK_INT(n, 60000);
        FD_CHECK_INT(backwards, 0);
        FD_CHECK(spend > 60000 / 5 && spend < 60000 * 6 / 10);
        FD_CHECK(t1 > 0);
        FD_CHECK_INT(t200, 0);
        fd_gen_destroy(gen);
}

int main(void)
{
        FD_RUN(test_same_seed_same_stream);
        FD_RUN(test_different_seeds_differ);
        FD_RUN(test_order_and_validity);
        FD_RUN(test_channel_mix);
        FD_RUN(test_utm_consistent);
        FD_RUN(test_identity_stitching);
        FD_RUN(test_deals);
        FD_RUN(test_duplicates);
        FD_RUN(test_target_and_endless);
        FD_RUN(test_tenants);
        FD_RUN(test_conf_check);
        FD_RUN(test_codec_round_trip);
        FD_RUN(test_spend_off_by_default);
        FD_RUN(test_spend_stream);
        FD_RUN(test_spend_deterministic);
        FD_RUN(test_spend_many_tenants);
        return FD_DONE();
}
