/* Unit tests of rule-based scoring: match kinds, negative points, caps,
 * per-cycle award counters, the MQL condition and hand-raises. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdtest.h"
#include "funneld/config.h"
#include "funneld/score.h"

/* A rule on the stack; values and regex point at static or test data. */
static fd_score_rule rule(const char *name, fd_score_kind kind,
                          const char *event_type, const char *attr,
                          fd_match_kind match, char **values, size_t cnt,
                          int32_t points, int32_t cap)
{
        fd_score_rule r;

        memset(&r, 0, sizeof(r));
        r.name = (char *)name;
        r.kind = kind;
        r.event_type = (char *)event_type;
        r.attr = (char *)attr;
        r.match = match;
        r.values = values;
        r.value_cnt = cnt;
        r.points = points;
        r.cap = cap;
        if (match == FD_MATCH_REGEX) {
                char msg[128];

                r.rx = fd_rule_regex_new(values[0], msg, sizeof(msg));
        }
        return r;
}

static fd_score_model model_of(fd_score_rule *rules, size_t cnt)
{
        fd_score_model m;

        memset(&m, 0, sizeof(m));
        m.rules = rules;
        m.rule_cnt = cnt;
        m.mql.min_fit = m.mql.min_engagement = m.mql.min_total = INT32_MIN;
        return m;
}

/* A lead event of type with one attribute key = value (key may be NULL). */
static fd_lead_event event(const char *type, const char *key, const char *value,
                           fd_attr *slot)
{
        fd_lead_event le;

        memset(&le, 0, sizeof(le));
        le.type = (char *)type;
        if (key) {
                slot->key = (char *)key;
                slot->value = (char *)value;
                le.attrs = slot;
                le.attr_cnt = 1;
        }
        return le;
}

/* Fit delta of one event through rules[0] with a fresh award counter. */
static int32_t fit_once(fd_score_model *m, const char *key, const char *value)
{
        fd_attr a;
        fd_lead_event le = event("identify", key, value, &a);
        int32_t awarded[4] = {0};

        return fd_score_apply(m, &le, awarded).fit;
}

static void test_match_exact(void)
{
        char *v[] = {"US"};
        fd_score_rule r = rule("c", FD_SCORE_FIT, NULL, "country",
                               FD_MATCH_EXACT, v, 1, 5, 5);
        fd_score_model m = model_of(&r, 1);

        FD_CHECK_INT(fit_once(&m, "country", "US"), 5);
        FD_CHECK_INT(fit_once(&m, "country", "us"), 0); /* case-sensitive */
        FD_CHECK_INT(fit_once(&m, "country", "USA"), 0);
        FD_CHECK_INT(fit_once(&m, "region", "US"), 0);
        FD_CHECK_INT(fit_once(&m, NULL, NULL), 0);
}

static void test_match_set(void)
{
        char *v[] = {"51-200", "201-1000", "1000+"};
        fd_score_rule r = rule("s", FD_SCORE_FIT, NULL, "company_size",
                               FD_MATCH_SET, v, 3, 10, 10);
        fd_score_model m = model_of(&r, 1);

        FD_CHECK_INT(fit_once(&m, "company_size", "51-200"), 10);
        FD_CHECK_INT(fit_once(&m, "company_size", "1000+"), 10);
        FD_CHECK_INT(fit_once(&m, "company_size", "11-50"), 0);
        FD_CHECK_INT(fit_once(&m, "company_size", "1000"), 0);
}

static void test_match_contains(void)
{
        char *v[] = {"director"};
        fd_score_rule r = rule("t", FD_SCORE_FIT, NULL, "job_title",
                               FD_MATCH_CONTAINS, v, 1, 15, 15);
        fd_score_model m = model_of(&r, 1);

        FD_CHECK_INT(fit_once(&m, "job_title", "Director of Sales"), 15);
        FD_CHECK_INT(fit_once(&m, "job_title", "Sales DIRECTOR"), 15);
        FD_CHECK_INT(fit_once(&m, "job_title", "Direct Sales"), 0);
        FD_CHECK_INT(fit_once(&m, "job_title", ""), 0);
}

static void test_match_regex(void)
{
        char *v[] = {"^(ceo|cto|chief [a-z ]+ officer)$"};
        fd_score_rule r = rule("c", FD_SCORE_FIT, NULL, "job_title",
                               FD_MATCH_REGEX, v, 1, 20, 20);
        fd_score_model m = model_of(&r, 1);

        FD_CHECK_INT(fit_once(&m, "job_title", "CEO"), 20);
        FD_CHECK_INT(fit_once(&m, "job_title", "Chief Marketing Officer"), 20);
        FD_CHECK_INT(fit_once(&m, "job_title", "Assistant to the CEO"), 0);
        fd_rule_regex_release(r.rx);
}

/* fd_regex_nodes counts the nodes glibc's regcomp builds: one per
 * literal, bracket, escape and "|", three per "*" and "?", none for a
 * group unless empty (six); x{n} n copies of x, optional copies three
 * more, nested bounds multiplied; every repetition counts all it builds
 * on the way (x, then x{n}); the count stops at cap + 1. */
static void test_regex_nodes(void)
{
        static const struct {
                const char *pattern;
                size_t nodes;
        } cases[] = {
                {"", 0},
                {"abc", 3},
                {"^(ceo|cto)$", 9},
                {"[[:alpha:]]x", 2},
                {"[]a{99}]", 1}, /* a bracket, "]" first is literal */
                {"\\.(edu)", 4},
                {"a{10}", 11},   /* a, then its 10 copies */
                {"a{2,10}", 35}, /* 2 copies, 8 optional ones */
                {"a{7,}", 12},   /* 7 copies, a starred one */
                {"a{,4}", 17},
                {"a{0}", 1},
                {"a{99}{0}", 100}, /* built before {0} drops it */
                {"ab+", 7},
                {"a*b?", 10},
                {"(ab){3}", 8},
                {"x(a|b){1,5}y", 32},
                {"((a{10}){10}){10}", 1111},
                {"a{2}{3}", 9}, /* stacked bounds multiply */
                {"a{", 2},      /* not an interval: literal */
                {"a{x}", 4},
                {"(ab", 2}, /* unclosed: what it holds */
                {"a)", 2},  /* unmatched ")" is a literal */
                {"()", 6},  /* an empty group keeps two epsilon nodes */
                {"(a{0})", 7},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t n = fd_regex_nodes(cases[i].pattern, 5000, NULL);

                if (n != cases[i].nodes)
                        fprintf(stderr, "pattern '%s': %zu nodes\n",
                                cases[i].pattern, n);
                FD_CHECK_INT(n, cases[i].nodes);
        }
        FD_CHECK_INT(fd_regex_nodes("((a{99}){99}){99}", 1000, NULL), 1001);
        FD_CHECK_INT(fd_regex_nodes("a{99999999999999999999}", 1000, NULL),
                     1001);
        FD_CHECK_INT(fd_regex_nodes("a{1,99999999999999999999}", 1000, NULL),
                     1001);
        FD_CHECK_INT(fd_regex_nodes("(((((a+)+)+)+)+)+", 1000, NULL), 487);
}

/* What fd_regex_nodes reports besides the count: back-references, and
 * repetitions of what may match the empty string. */
static void test_regex_hazards(void)
{
        static const struct {
                const char *pattern;
                unsigned hazards;
        } cases[] = {
                {"(a)\\1", FD_REGEX_BACKREF},
                {"a\\.b[\\1]\\\\1", 0}, /* in brackets, an escaped "\" */
                {"(a*)*", FD_REGEX_EMPTY_LOOP},
                {"(a?){250}", FD_REGEX_EMPTY_LOOP},
                {"a**", FD_REGEX_EMPTY_LOOP},
                {"(){3}", FD_REGEX_EMPTY_LOOP},
                {"(a|)+", FD_REGEX_EMPTY_LOOP},  /* an empty alternative */
                {"(\\b)*", FD_REGEX_EMPTY_LOOP}, /* anchors match nothing */
                {"(^|x)?", FD_REGEX_EMPTY_LOOP},
                {"(a*b?)+", FD_REGEX_EMPTY_LOOP},
                {"(((vp){00}){99}){99}", FD_REGEX_EMPTY_LOOP},
                {"(a*b)*", 0}, /* b is always matched */
                {"(a|b)+", 0},
                {"(x|a*)b{2}", 0},
                {"(https?://)?(www\\.)?example\\.com", 0},
                {"^(vp|head)( of)? (sales|marketing)$", 0},
                {"*a", 0}, /* nothing to repeat: regcomp skips the "*" */
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                unsigned h = ~0u;

                fd_regex_nodes(cases[i].pattern, 5000, &h);

                if (h != cases[i].hazards)
                        fprintf(stderr, "pattern '%s': hazards %u\n",
                                cases[i].pattern, h);
                FD_CHECK_INT(h, cases[i].hazards);
        }
}

/* A regex shared by rule copies lives until its last holder releases it
 * (valgrind and ASan check the counting). */
static void test_rule_regex_shared(void)
{
        char msg[128] = "";
        fd_rule_regex *rx = fd_rule_regex_new("^vp", msg, sizeof(msg));

        FD_CHECK(rx != NULL);
        rx->refs++;
        fd_rule_regex_release(rx);
        FD_CHECK_INT(regexec(&rx->re, "VP Sales", 0, NULL, 0), 0);
        fd_rule_regex_release(rx);
        fd_rule_regex_release(NULL);
        FD_CHECK(fd_rule_regex_new("([a-z", msg, sizeof(msg)) == NULL);
        FD_CHECK(strstr(msg, "Unmatched") != NULL);
}

/* The memo answers as regexec does: for repeated values, for more values
 * than it has slots (evictions), for the empty value and for values too
 * long to remember. */
static void test_regex_memo(void)
{
        regex_t re;
        char v[300];
        struct fd_regex_memo *memo = fd_regex_memo_new();

        FD_CHECK(memo != NULL);
        FD_CHECK_INT(regcomp(&re, "(^|[^a-z])(vp|director)([^a-z]|$)",
                             REG_EXTENDED | REG_ICASE | REG_NOSUB),
                     0);
        for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 1000; i++) {
                        int len = snprintf(v, sizeof(v), "%s %d of sales",
                                           i % 3 ? "Manager" : "VP", i);
                        if (i % 7 == 0) /* past what the memo keeps */
                                while (len < 200)
                                        v[len++] = i % 2 ? 'x' : ' ';
                        if (i % 11 == 0)
                                len = 0;
                        v[len] = '\0';
                        FD_CHECK_INT(fd_regex_memo_match(memo, &re, v),
                                     regexec(&re, v, 0, NULL, 0) == 0);
                        FD_CHECK_INT(fd_regex_memo_match(NULL, &re, v),
                                     regexec(&re, v, 0, NULL, 0) == 0);
                }
        }
        /* Same hash slot, different text: the text decides. */
        FD_CHECK_INT(fd_regex_memo_match(memo, &re, "Director"), 1);
        FD_CHECK_INT(fd_regex_memo_match(memo, &re, "Directo"), 0);
        FD_CHECK_INT(fd_regex_memo_match(memo, &re, "Director"), 1);
        fd_regex_memo_free(memo);
        regfree(&re);
}

static void test_event_type_filter(void)
{
        fd_score_rule rules[2];
        fd_score_model m;
        fd_attr a;
        fd_lead_event pv = event("page_view", NULL, NULL, &a);
        fd_lead_event dl = event("content_download", NULL, NULL, &a);
        fd_lead_event untyped = event(NULL, NULL, NULL, &a);
        int32_t awarded[2] = {0, 0};

        rules[0] = rule("pv", FD_SCORE_ENGAGEMENT, "page_view", NULL,
                        FD_MATCH_ANY, NULL, 0, 1, 0);
        rules[1] = rule("any", FD_SCORE_ENGAGEMENT, NULL, NULL, FD_MATCH_ANY,
                        NULL, 0, 2, 0);
        m = model_of(rules, 2);
        FD_CHECK_INT(fd_score_apply(&m, &pv, awarded).engagement, 3);
        FD_CHECK_INT(fd_score_apply(&m, &dl, awarded).engagement, 2);
        FD_CHECK_INT(fd_score_apply(&m, &untyped, awarded).engagement, 2);
        FD_CHECK_INT(awarded[0], 1);
        FD_CHECK_INT(awarded[1], 6);
}

static void test_event_and_attribute(void)
{
        char *v[] = {"pricing"};
        fd_score_rule r = rule("p", FD_SCORE_ENGAGEMENT, "page_view", "path",
                               FD_MATCH_CONTAINS, v, 1, 4, 0);
        fd_score_model m = model_of(&r, 1);
        fd_attr a1, a2;
        fd_lead_event hit = event("page_view", "path", "/pricing/teams", &a1);
        fd_lead_event wrong_type =
                event("email_click", "path", "/pricing", &a2);
        int32_t awarded[1] = {0};

        FD_CHECK_INT(fd_score_apply(&m, &hit, awarded).engagement, 4);
        FD_CHECK_INT(fd_score_apply(&m, &wrong_type, awarded).engagement, 0);
        FD_CHECK_INT(fd_score_apply(&m, &hit, awarded).fit, 0);
}

static void test_cap_partial_remainder(void)
{
        fd_score_rule r =
                rule("pricing", FD_SCORE_ENGAGEMENT, "pricing_page_view", NULL,
                     FD_MATCH_ANY, NULL, 0, 10, 25);
        fd_score_model m = model_of(&r, 1);
        fd_attr a;
        fd_lead_event le = event("pricing_page_view", NULL, NULL, &a);
        int32_t awarded[1] = {0};

        FD_CHECK_INT(fd_score_apply(&m, &le, awarded).engagement, 10);
        FD_CHECK_INT(fd_score_apply(&m, &le, awarded).engagement, 10);
        FD_CHECK_INT(fd_score_apply(&m, &le, awarded).engagement, 5);
        FD_CHECK_INT(fd_score_apply(&m, &le, awarded).engagement, 0);
        FD_CHECK_INT(awarded[0], 25);
}

static void test_negative_points_capped(void)
{
        fd_score_rule rules[2];
        fd_score_model m;
        fd_attr a;
        fd_lead_event le = event("unsubscribe", NULL, NULL, &a);
        int32_t awarded[2] = {0, 0};
        fd_score_delta d;

        rules[0] = rule("unsub", FD_SCORE_ENGAGEMENT, "unsubscribe", NULL,
                        FD_MATCH_ANY, NULL, 0, -15, 20);
        rules[1] = rule("unsub_uncapped", FD_SCORE_ENGAGEMENT, "unsubscribe",
                        NULL, FD_MATCH_ANY, NULL, 0, -1, 0);
        m = model_of(rules, 2);
        d = fd_score_apply(&m, &le, awarded);
        FD_CHECK_INT(d.engagement, -16);
        FD_CHECK_INT(d.fit, 0);
        FD_CHECK_INT(fd_score_apply(&m, &le, awarded).engagement, -6);
        FD_CHECK_INT(fd_score_apply(&m, &le, awarded).engagement, -1);
        FD_CHECK_INT(awarded[0], -20);
        FD_CHECK_INT(awarded[1], -3);
}

static void test_fit_and_engagement_split(void)
{
        char *v[] = {"software"};
        fd_score_rule rules[2];
        fd_score_model m;
        fd_attr a;
        fd_lead_event le =
                event("webinar_attended", "industry", "software", &a);
        int32_t awarded[2] = {0, 0};
        fd_score_delta d;

        rules[0] = rule("ind", FD_SCORE_FIT, NULL, "industry", FD_MATCH_EXACT,
                        v, 1, 10, 10);
        rules[1] = rule("web", FD_SCORE_ENGAGEMENT, "webinar_attended", NULL,
                        FD_MATCH_ANY, NULL, 0, 12, 0);
        m = model_of(rules, 2);
        d = fd_score_apply(&m, &le, awarded);
        FD_CHECK_INT(d.fit, 10);
        FD_CHECK_INT(d.engagement, 12);
        d = fd_score_apply(&m, &le, awarded);
        FD_CHECK_INT(d.fit, 0); /* the profile fact counted once */
        FD_CHECK_INT(d.engagement, 12);
}

static void test_awarded_per_cycle(void)
{
        fd_score_rule r = rule("email_open", FD_SCORE_ENGAGEMENT, "email_open",
                               NULL, FD_MATCH_ANY, NULL, 0, 1, 2);
        fd_score_model m = model_of(&r, 1);
        fd_attr a;
        fd_lead_event le = event("email_open", NULL, NULL, &a);
        int32_t cycle1[1] = {0}, cycle2[1] = {0}, other_lead[1] = {1};

        FD_CHECK_INT(fd_score_apply(&m, &le, cycle1).engagement, 1);
        FD_CHECK_INT(fd_score_apply(&m, &le, cycle1).engagement, 1);
        FD_CHECK_INT(fd_score_apply(&m, &le, cycle1).engagement, 0);
        /* a new cycle starts from a zeroed counter: the rule pays again */
        FD_CHECK_INT(fd_score_apply(&m, &le, cycle2).engagement, 1);
        FD_CHECK_INT(cycle2[0], 1);
        FD_CHECK_INT(cycle1[0], 2);
        /* another lead's counter is independent */
        FD_CHECK_INT(fd_score_apply(&m, &le, other_lead).engagement, 1);
        FD_CHECK_INT(other_lead[0], 2);
        /* without counters, only the per-event cap applies */
        FD_CHECK_INT(fd_score_apply(&m, &le, NULL).engagement, 1);
}

static void test_fit_default_cap_from_config(void)
{
        static const char text[] = "[rule.vp]\nkind = fit\n"
                                   "attribute = job_title\nmatch = contains\n"
                                   "value = vp\npoints = 15\n"
                                   "[rule.neg]\nkind = fit\n"
                                   "attribute = email\nmatch = regex\n"
                                   "value = @gmail\\.com$\npoints = -10\n";
        char path[] = "/tmp/fdtest_score_XXXXXX", err[512];
        int fd = mkstemp(path);
        fd_config *conf;
        fd_attr attrs[2] = {{"job_title", "VP Sales"},
                            {"email", "x@gmail.com"}};
        fd_lead_event le;
        int32_t awarded[2] = {0, 0};
        fd_score_delta d;

        FD_CHECK(fd >= 0);
        if (fd < 0)
                return;
        FD_CHECK(write(fd, text, sizeof(text) - 1) == sizeof(text) - 1);
        close(fd);
        conf = fd_config_load(path, err, sizeof(err));
        unlink(path);
        FD_CHECK(conf != NULL);
        if (!conf)
                return;
        memset(&le, 0, sizeof(le));
        le.type = "identify";
        le.attrs = attrs;
        le.attr_cnt = 2;
        d = fd_score_apply(&conf->defaults.score, &le, awarded);
        FD_CHECK_INT(d.fit, 5);
        d = fd_score_apply(&conf->defaults.score, &le, awarded);
        FD_CHECK_INT(d.fit, 0);
        FD_CHECK_INT(awarded[0], 15);
        FD_CHECK_INT(awarded[1], -10);
        fd_config_destroy(conf);
}

static void test_mql_condition(void)
{
        fd_mql_condition c = {INT32_MIN, INT32_MIN, INT32_MIN};

        FD_CHECK_INT(fd_score_is_mql(&c, 1000, 1000), 0); /* nothing set */
        c.min_fit = 20;
        FD_CHECK_INT(fd_score_is_mql(&c, 20, -50), 1);
        FD_CHECK_INT(fd_score_is_mql(&c, 19, 500), 0);
        c.min_engagement = 25;
        FD_CHECK_INT(fd_score_is_mql(&c, 20, 25), 1);
        FD_CHECK_INT(fd_score_is_mql(&c, 20, 24), 0);
        FD_CHECK_INT(fd_score_is_mql(&c, 19, 25), 0);
        c.min_total = 60;
        FD_CHECK_INT(fd_score_is_mql(&c, 30, 29), 0);
        FD_CHECK_INT(fd_score_is_mql(&c, 30, 30), 1);
        c.min_fit = c.min_engagement = INT32_MIN;
        FD_CHECK_INT(fd_score_is_mql(&c, -10, 70), 1);
        FD_CHECK_INT(fd_score_is_mql(&c, INT32_MAX, INT32_MAX), 1);
        FD_CHECK_INT(fd_score_is_mql(&c, INT32_MIN, 100), 0);
}

static void test_handraise(void)
{
        char *types[] = {"demo_request", "contact_sales"};
        fd_score_model m = model_of(NULL, 0);

        m.handraise_types = types;
        m.handraise_cnt = 2;
        FD_CHECK_INT(fd_score_is_handraise(&m, "demo_request"), 1);
        FD_CHECK_INT(fd_score_is_handraise(&m, "contact_sales"), 1);
        FD_CHECK_INT(fd_score_is_handraise(&m, "Demo_Request"), 0);
        FD_CHECK_INT(fd_score_is_handraise(&m, "demo"), 0);
        FD_CHECK_INT(fd_score_is_handraise(&m, NULL), 0);
        m.handraise_cnt = 0;
        FD_CHECK_INT(fd_score_is_handraise(&m, "demo_request"), 0);
}

#define DAY_MS 86400000LL

/* scoring.decay: hand-computed. */
static void test_decay(void)
{
        fd_score_model m = {0};
        char linear[] = "linear", half[] = "half_life", none[] = "none";
        int64_t t0 = 20000 * DAY_MS + 3600000; /* day 20000 + 1 h */

        m.decay_ms = 30 * DAY_MS;
        m.decay_points = 10;
        /* none / unset: no change */
        FD_CHECK_INT(fd_score_decay(&m, 40, t0, t0 + 400 * DAY_MS), 40);
        m.decay = none;
        FD_CHECK_INT(fd_score_decay(&m, 40, t0, t0 + 400 * DAY_MS), 40);
        /* linear: periods are fixed windows of 30 days from the epoch;
         * day 20010 = 667 * 30 is the first boundary after t0 */
        m.decay = linear;
        FD_CHECK_INT(fd_score_decay(&m, 40, t0, t0 + 9 * DAY_MS), 40);
        FD_CHECK_INT(fd_score_decay(&m, 40, t0, t0 + 10 * DAY_MS), 30);
        FD_CHECK_INT(fd_score_decay(&m, 40, t0, t0 + 40 * DAY_MS), 20);
        FD_CHECK_INT(fd_score_decay(&m, 40, t0, t0 + 400 * DAY_MS), 0);
        FD_CHECK_INT(fd_score_decay(&m, -15, t0, t0 + 10 * DAY_MS), -5);
        FD_CHECK_INT(fd_score_decay(&m, -15, t0, t0 + 40 * DAY_MS), 0);
        /* not forward in time: no change */
        FD_CHECK_INT(fd_score_decay(&m, 40, t0 + 40 * DAY_MS, t0), 40);
        FD_CHECK_INT(fd_score_decay(&m, 40, t0, t0), 40);
        /* half_life of 10 days */
        m.decay = half;
        m.decay_ms = 10 * DAY_MS;
        FD_CHECK_INT(fd_score_decay(&m, 40, t0, t0 + 10 * DAY_MS), 20);
        FD_CHECK_INT(fd_score_decay(&m, 40, t0, t0 + 20 * DAY_MS), 10);
        FD_CHECK_INT(fd_score_decay(&m, 15, t0, t0 + 10 * DAY_MS), 8);
        FD_CHECK_INT(fd_score_decay(&m, -15, t0, t0 + 10 * DAY_MS), -8);
        FD_CHECK_INT(fd_score_decay(&m, 40, t0, t0 + 5 * DAY_MS), 28);
        FD_CHECK_INT(fd_score_decay(&m, 1, t0, t0 + 20 * DAY_MS), 0);
}

/* scoring.decay = expire: the per-event points list. */
static void test_expire_list(void)
{
        char *list = NULL;
        char big[64];

        FD_CHECK_INT(fd_score_expire(&list, 1000, 100), 0);
        FD_CHECK(list == NULL);
        FD_CHECK_INT(fd_score_award(&list, 500, 10), 0);
        FD_CHECK_INT(fd_score_award(&list, 700, -3), 0);
        /* Out of order: goes before 700; same time: after the first. */
        FD_CHECK_INT(fd_score_award(&list, 600, 5), 0);
        FD_CHECK_INT(fd_score_award(&list, 600, 1), 0);
        FD_CHECK_STR(list, "500:10,600:5,600:1,700:-3");
        /* At 599 + 100 nothing is 100 old yet but 500's entry. */
        FD_CHECK_INT(fd_score_expire(&list, 599, 100), 0);
        FD_CHECK_INT(fd_score_expire(&list, 600, 100), 10);
        FD_CHECK_STR(list, "600:5,600:1,700:-3");
        /* Negative points expire too: the score goes up by them. */
        FD_CHECK_INT(fd_score_expire(&list, 800, 100), 3);
        FD_CHECK(list == NULL);
        /* A full list merges its two oldest entries at the later time. */
        for (int i = 0; i < FD_SCORE_AWARDS_MAX; i++)
                FD_CHECK_INT(fd_score_award(&list, 1000 + i, 1), 0);
        FD_CHECK_INT(fd_score_award(&list, 5000, 7), 0);
        FD_CHECK(strncmp(list, "1001:2,1002:1,", 14) == 0);
        snprintf(big, sizeof(big), ",%d:1,5000:7",
                 1000 + FD_SCORE_AWARDS_MAX - 1);
        FD_CHECK(strstr(list, big) != NULL);
        FD_CHECK_INT(fd_score_expire(&list, 1001 + 100, 100), 2);
        FD_CHECK_INT(fd_score_expire(&list, 10000, 100),
                     FD_SCORE_AWARDS_MAX - 2 + 7);
        FD_CHECK(list == NULL);
        free(list);
}

int main(void)
{
        FD_RUN(test_decay);
        FD_RUN(test_expire_list);
        FD_RUN(test_match_exact);
        FD_RUN(test_match_set);
        FD_RUN(test_match_contains);
        FD_RUN(test_match_regex);
        FD_RUN(test_regex_memo);
        FD_RUN(test_regex_nodes);
        FD_RUN(test_regex_hazards);
        FD_RUN(test_rule_regex_shared);
        FD_RUN(test_event_type_filter);
        FD_RUN(test_event_and_attribute);
        FD_RUN(test_cap_partial_remainder);
        FD_RUN(test_negative_points_capped);
        FD_RUN(test_fit_and_engagement_split);
        FD_RUN(test_awarded_per_cycle);
        FD_RUN(test_fit_default_cap_from_config);
        FD_RUN(test_mql_condition);
        FD_RUN(test_handraise);
        return FD_DONE();
}
