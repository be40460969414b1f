/* funneld — rule-based lead scoring: fit and engagement points per event,
 * capped per rule, lead and cycle; the MQL condition; hand-raise types. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "funneld/score.h"
#include "fmt.h"
#include "funneld/timebucket.h"
#include "strmap.h"

#define MEMO_SLOTS     256
#define MEMO_VALUE_MAX 110

typedef struct memo_slot {
        uint64_t hash;
        uint8_t len;   /* of value */
        uint8_t state; /* 0 empty, 1 no match, 2 match */
        char value[MEMO_VALUE_MAX];
} memo_slot;

struct fd_regex_memo {
        memo_slot slot[MEMO_SLOTS];
};

struct fd_regex_memo *fd_regex_memo_new(void)
{
        return calloc(1, sizeof(struct fd_regex_memo));
}

void fd_regex_memo_free(struct fd_regex_memo *memo)
{
        free(memo);
}

int fd_regex_memo_match(struct fd_regex_memo *memo, const regex_t *re,
                        const char *v)
{
        size_t len = strlen(v);
        if (!memo || len > MEMO_VALUE_MAX)
                return regexec(re, v, 0, NULL, 0) == 0;
        uint64_t h = fd_hash64(v, len);
        memo_slot *s = &memo->slot[h % MEMO_SLOTS];
        if (s->state && s->hash == h && s->len == len &&
            memcmp(s->value, v, len) == 0)
                return s->state == 2;
        int match = regexec(re, v, 0, NULL, 0) == 0;
        s->hash = h;
        s->len = (uint8_t)len;
        s->state = match ? 2 : 1;
        memcpy(s->value, v, len);
        return match;
}

static int ascii_lower(int c)
{
        return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* 1 when needle occurs in hay, ignoring ASCII case. */
static int contains_nocase(const char *hay, const char *needle)
{
        size_t n = strlen(needle);
        int first = ascii_lower((unsigned char)needle[0]);

        if (n == 0)
                return 1;
        /* strncasecmp only where the first byte matches */
        for (; *hay; hay++) {
                if (ascii_lower((unsigned char)*hay) == first &&
                    strncasecmp(hay, needle, n) == 0)
                        return 1;
        }
        return 0;
}

static int attr_matches(const fd_score_rule *rule, const fd_lead_event *le)
{
        const char *v;

        if (rule->match == FD_MATCH_ANY)
                return 1;
        v = fd_lead_event_attr(le, rule->attr);
        if (!v || !rule->value_cnt)
                return 0;
        switch (rule->match) {
        case FD_MATCH_EXACT:
                return strcmp(v, rule->values[0]) == 0;
        case FD_MATCH_SET:
                for (size_t i = 0; i < rule->value_cnt; i++) {
                        if (strcmp(v, rule->values[i]) == 0)
                                return 1;
                }
                return 0;
        case FD_MATCH_CONTAINS:
                return contains_nocase(v, rule->values[0]);
        case FD_MATCH_REGEX:
                return fd_regex_memo_match(rule->memo, &rule->re, v);
        default:
                return 0;
        }
}

static int rule_matches(const fd_score_rule *rule, const fd_lead_event *le)
{
        if (rule->event_type &&
            (!le->type || strcmp(le->type, rule->event_type) != 0))
                return 0;
        return attr_matches(rule, le);
}

/* The points rule may still award given what it already awarded: all of
 * them, the part left under the cap, or 0 when the cap is used up. */
static int32_t capped_points(const fd_score_rule *rule, int32_t already)
{
        int64_t cap = rule->cap < 0 ? -(int64_t)rule->cap : rule->cap;
        int64_t pts = rule->points;
        int64_t used = already < 0 ? -(int64_t)already : already;
        int64_t room = cap - used;

        if (cap == 0)
                return (int32_t)pts;
        if (room <= 0)
                return 0;
        if (pts > room)
                return (int32_t)room;
        if (pts < -room)
                return (int32_t)-room;
        return (int32_t)pts;
}

static int32_t add_sat(int32_t a, int32_t b)
{
        int64_t s = (int64_t)a + b;

        if (s > INT32_MAX)
                return INT32_MAX;
        if (s < INT32_MIN)
                return INT32_MIN;
        return (int32_t)s;
}

fd_score_delta fd_score_apply(const fd_score_model *model,
                              const fd_lead_event *le, int32_t *awarded)
{
        fd_score_delta d = {0, 0};

        if (!model || !le)
                return d;
        for (size_t i = 0; i < model->rule_cnt; i++) {
                const fd_score_rule *rule = &model->rules[i];
                int32_t pts;

                /* A rule whose cap is used up awards nothing: not matched
                 * at all (its regex is the costly part). */
                pts = capped_points(rule, awarded ? awarded[i] : 0);
                if (pts == 0 || !rule_matches(rule, le))
                        continue;
                if (awarded)
                        awarded[i] = add_sat(awarded[i], pts);
                if (rule->kind == FD_SCORE_FIT)
                        d.fit = add_sat(d.fit, pts);
                else
                        d.engagement = add_sat(d.engagement, pts);
        }
        return d;
}

int32_t fd_score_decay(const fd_score_model *model, int32_t engagement,
                       int64_t from_ms, int64_t to_ms)
{
        const char *kind = model->decay;

        if (!kind || engagement == 0 || to_ms <= from_ms ||
            model->decay_ms <= 0)
                return engagement;
        if (strcmp(kind, "linear") == 0) {
                int64_t periods = fd_floor_div(to_ms, model->decay_ms) -
                                  fd_floor_div(from_ms, model->decay_ms);
                int64_t loss = periods * model->decay_points;

                if (periods <= 0 || loss <= 0)
                        return engagement;
                if (engagement > 0)
                        return loss >= engagement
                                       ? 0
                                       : (int32_t)(engagement - loss);
                return -loss <= engagement ? 0 : (int32_t)(engagement + loss);
        }
        if (strcmp(kind, "half_life") == 0) {
                double f = exp2(-(double)(to_ms - from_ms) /
                                (double)model->decay_ms);

                return (int32_t)lround((double)engagement * f);
        }
        return engagement;
}

int fd_score_expires(const fd_score_model *model)
{
        return model->decay && strcmp(model->decay, "expire") == 0;
}

typedef struct award {
        int64_t at;
        int64_t points;
} award;

/* Parses list into out (room for FD_SCORE_AWARDS_MAX + 1 entries); the
 * count. Entries that do not parse are skipped. */
static size_t awards_parse(const char *list, award *out)
{
        size_t n = 0;

        while (list && *list && n <= FD_SCORE_AWARDS_MAX) {
                char *end;
                long long at = strtoll(list, &end, 10);
                if (*end == ':') {
                        long long pts = strtoll(end + 1, &end, 10);
                        out[n++] = (award){at, pts};
                }
                list = strchr(end, ',');
                if (list)
                        list++;
        }
        return n;
}

/* Writes a[0..n) as a list into *list (NULL when n is 0). 0 or -1. */
static int awards_write(char **list, const award *a, size_t n)
{
        char *out, *o;

        if (n == 0) {
                free(*list);
                *list = NULL;
                return 0;
        }
        if (!(out = malloc(n * 42 + 1)))
                return -1;
        o = out;
        for (size_t i = 0; i < n; i++) {
                if (i)
                        *o++ = ',';
                o += fd_fmt_i64(o, a[i].at);
                *o++ = ':';
                o += fd_fmt_i64(o, a[i].points);
        }
        *o = '\0';
        free(*list);
        *list = out;
        return 0;
}

int64_t fd_score_expire(char **list, int64_t now_ms, int64_t ttl_ms)
{
        award a[FD_SCORE_AWARDS_MAX + 1];
        size_t n = awards_parse(*list, a), k = 0;
        int64_t gone = 0;

        while (k < n && a[k].at <= now_ms - ttl_ms)
                gone += a[k++].points;
        if (k == 0)
                return 0;
        if (awards_write(list, a + k, n - k) != 0)
                return INT64_MIN;
        return gone;
}

int fd_score_award(char **list, int64_t at_ms, int32_t points)
{
        award a[FD_SCORE_AWARDS_MAX + 1];
        size_t n = awards_parse(*list, a), i = n;

        while (i > 0 && a[i - 1].at > at_ms)
                i--;
        memmove(a + i + 1, a + i, (n - i) * sizeof(*a));
        a[i] = (award){at_ms, points};
        n++;
        if (n > FD_SCORE_AWARDS_MAX) {
                a[1].points += a[0].points;
                memmove(a, a + 1, (n - 1) * sizeof(*a));
                n--;
        }
        return awards_write(list, a, n);
}

int fd_score_is_mql(const fd_mql_condition *mql, int32_t fit,
                    int32_t engagement)
{
        int64_t total = (int64_t)fit + engagement;
        int any = 0;

        if (mql->min_fit != INT32_MIN) {
                any = 1;
                if (fit < mql->min_fit)
                        return 0;
        }
        if (mql->min_engagement != INT32_MIN) {
                any = 1;
                if (engagement < mql->min_engagement)
                        return 0;
        }
        if (mql->min_total != INT32_MIN) {
                any = 1;
                if (total < mql->min_total)
                        return 0;
        }
        return any; /* no threshold set: score alone never makes an MQL */
}

int fd_score_is_handraise(const fd_score_model *model, const char *type)
{
        if (!type)
                return 0;
        for (size_t i = 0; i < model->handraise_cnt; i++) {
                if (strcmp(model->handraise_types[i], type) == 0)
                        return 1;
        }
        return 0;
}

/* Releases the rules and hand-raise list of model; keeps the MQL
 * condition. */
void fd_score_model_clear(fd_score_model *model)
{
        for (size_t i = 0; i < model->rule_cnt; i++) {
                fd_score_rule *rule = &model->rules[i];

                free(rule->name);
                free(rule->field);
                free(rule->event_type);
                free(rule->attr);
                for (size_t j = 0; j < rule->value_cnt; j++)
                        free(rule->values[j]);
                free(rule->values);
                if (rule->match == FD_MATCH_REGEX) {
                        regfree(&rule->re);
                        fd_regex_memo_free(rule->memo);
                }
        }
        free(model->rules);
        model->rules = NULL;
        model->rule_cnt = 0;
        for (size_t i = 0; i < model->handraise_cnt; i++)
                free(model->handraise_types[i]);
        free(model->handraise_types);
        model->handraise_types = NULL;
        model->handraise_cnt = 0;
}
