/* funneld — rule-based lead scoring: fit and engagement points per event,
 * capped per rule, lead and cycle; the MQL condition; hand-raise types. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
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

fd_rule_regex *fd_rule_regex_new(const char *pattern, char *msg,
                                 size_t msg_size)
{
        fd_rule_regex *rx = calloc(1, sizeof(*rx));
        int rc;

        if (!rx) {
                snprintf(msg, msg_size, "out of memory");
                return NULL;
        }
        rc = regcomp(&rx->re, pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB);
        if (rc != 0) {
                regerror(rc, &rx->re, msg, msg_size);
                free(rx);
                return NULL;
        }
        rx->memo = fd_regex_memo_new();
        rx->refs = 1;
        return rx;
}

void fd_rule_regex_release(fd_rule_regex *rx)
{
        if (!rx || --rx->refs > 0)
                return;
        regfree(&rx->re);
        fd_regex_memo_free(rx->memo);
        free(rx);
}

/* Past the bracket expression that starts at p ("[...]", with "]" first
 * taken literally and "[:class:]", "[.x.]", "[=x=]" inside); the end of
 * the string when it is not closed. */
static const char *skip_bracket(const char *p)
{
        const char *q = p + 1;

        if (*q == '^')
                q++;
        if (*q == ']')
                q++;
        while (*q && *q != ']') {
                if (q[0] == '[' &&
                    (q[1] == ':' || q[1] == '.' || q[1] == '=')) {
                        const char *c = q + 2;

                        while (*c && !(c[0] == q[1] && c[1] == ']'))
                                c++;
                        q = *c ? c + 2 : q + 1;
                } else {
                        q++;
                }
        }
        return *q ? q + 1 : q;
}

/* What fd_regex_nodes counts for a "*", a "?" or an optional copy: the
 * node and the epsilon closures that grow with every node that may match
 * nothing (regcomp's time grows with the cube of nested stars). */
#define EPSILON_NODES 3

/* a + b and a * b, or limit when larger (a, b <= limit). */
static size_t add_upto(size_t a, size_t b, size_t limit)
{
        return a + b > limit ? limit : a + b;
}

static size_t mul_upto(size_t a, size_t b, size_t limit)
{
        return a && b > limit / a ? limit : a * b > limit ? limit : a * b;
}

/* Reads the interval at p ("{m}", "{m,}", "{m,n}" or "{,n}"): sets *end
 * past it and *min to m, and returns the nodes of x{...} for an x of
 * x_nodes, at most limit: m copies of x, n - m optional ones, for {m,} a
 * starred one. Returns SIZE_MAX when p starts no interval (regcomp reads
 * the "{" literally or rejects it). */
static size_t interval_nodes(const char *p, size_t x_nodes, size_t limit,
                             const char **end, size_t *min)
{
        size_t num[2] = {0, 0}, nodes;
        int digits[2] = {0, 0}, part = 0;
        const char *q = p + 1;

        for (;; q++) {
                if (*q >= '0' && *q <= '9') {
                        if (num[part] <= limit)
                                num[part] = num[part] * 10 + (size_t)(*q - '0');
                        digits[part] = 1;
                } else if (*q == ',' && part == 0) {
                        part = 1;
                } else {
                        break;
                }
        }
        if (*q != '}' || (!digits[0] && !digits[1]))
                return SIZE_MAX;
        *end = q + 1;
        *min = num[0];
        nodes = mul_upto(x_nodes, num[0], limit);
        if (part == 0)
                return nodes;
        if (!digits[1]) /* {m,} */
                return add_upto(nodes, x_nodes + EPSILON_NODES, limit);
        if (num[1] > num[0])
                nodes = add_upto(nodes,
                                 mul_upto(num[1] - num[0],
                                          x_nodes + EPSILON_NODES, limit),
                                 limit);
        return nodes;
}

/* One level of parentheses in fd_regex_nodes: the nodes of the group so
 * far and of its last item (what a repetition applies to), and what may
 * match the empty string: the items of this alternative before the last,
 * the last one, and an earlier alternative of the group. */
typedef struct rx_level {
        size_t total;
        size_t last;
        unsigned has_last : 1;
        unsigned before_empty : 1;
        unsigned last_empty : 1;
        unsigned group_empty : 1;
} rx_level;

/* fd_regex_nodes' running count: every node regcomp builds on the way,
 * also those a later "{0}" drops again (it builds x{99} before it applies
 * the {0} that follows), saturating at limit; and the hazards seen. */
typedef struct rx_count {
        size_t made;
        size_t limit;
        unsigned hazards;
} rx_count;

/* A new alternative (of a new group, or after "|"). */
static void level_alt(rx_level *l)
{
        l->last = 0;
        l->has_last = 0;
        l->before_empty = 1;
        l->last_empty = 0;
}

/* Whether the alternative so far may match the empty string. */
static int alt_empty(const rx_level *l)
{
        return l->before_empty && (!l->has_last || l->last_empty);
}

/* An item of n nodes ends the level; leaf: it is built now (not a group
 * whose nodes were counted inside); empty: it may match the empty string
 * (an anchor, a group that may). */
static void level_item(rx_level *l, size_t n, rx_count *c, int leaf, int empty)
{
        l->before_empty = (unsigned)alt_empty(l);
        l->total = add_upto(l->total, n, c->limit);
        l->last = n;
        l->has_last = 1;
        l->last_empty = empty != 0;
        if (leaf)
                c->made = add_upto(c->made, n, c->limit);
}

/* The level's last item becomes a repetition of it, of n nodes; empty: the
 * repetition may match nothing ("*", "?", "{0,n}"). Repeating what may
 * already match nothing makes a loop of epsilon nodes, whose closures
 * take regcomp exponential time ("()*{0,5}{9}"): a hazard. */
static void level_regrow(rx_level *l, size_t n, int empty, rx_count *c)
{
        if (!l->has_last) /* nothing to repeat: regcomp skips it */
                return;
        if (l->last_empty)
                c->hazards |= FD_REGEX_EMPTY_LOOP;
        l->total = add_upto(l->total - l->last, n, c->limit);
        l->last = n;
        l->last_empty |= empty != 0;
        c->made = add_upto(c->made, n, c->limit);
}

/* The group l closes into outer: its contents, or when they are empty
 * (also "(a{0})") the two epsilon nodes glibc keeps for an empty group
 * even under REG_NOSUB. */
static void level_close(rx_level *outer, const rx_level *l, rx_count *c)
{
        int empty = l->group_empty || alt_empty(l);

        if (l->total)
                level_item(outer, l->total, c, 0, empty);
        else
                level_item(outer, 2 * EPSILON_NODES, c, 1, 1);
}

/* Whether the escape at p (a backslash) is an anchor: a word boundary,
 * or the start or end of the string. */
static int escape_is_anchor(const char *p)
{
        return p[1] && strchr("bB<>`'", p[1]) != NULL;
}

size_t fd_regex_nodes(const char *pattern, size_t cap, unsigned *hazards)
{
        size_t depth = 0, n, min;
        rx_count c = {0, cap + 1, 0};
        const char *p = pattern, *end;
        /* one level per "(", and the top */
        rx_level *lv = calloc(strlen(pattern) + 1, sizeof(*lv));

        if (!lv) {
                if (hazards)
                        *hazards = 0;
                return c.limit;
        }
        level_alt(&lv[0]);
        while (*p) {
                rx_level *l = &lv[depth];

                switch (*p) {
                case '(':
                        depth++;
                        lv[depth].total = 0;
                        lv[depth].group_empty = 0;
                        level_alt(&lv[depth]);
                        p++;
                        continue;
                case ')':
                        if (depth > 0) {
                                depth--;
                                level_close(&lv[depth], l, &c);
                                p++;
                                continue;
                        }
                        break; /* unmatched: a literal */
                case '|':      /* one node; then a new alternative */
                        l->group_empty |= (unsigned)alt_empty(l);
                        level_item(l, 1, &c, 1, 0);
                        level_alt(l);
                        p++;
                        continue;
                case '^':
                case '$':
                        level_item(l, 1, &c, 1, 1);
                        p++;
                        continue;
                case '*':
                case '?':
                        level_regrow(l,
                                     add_upto(l->last, EPSILON_NODES, c.limit),
                                     1, &c);
                        p++;
                        continue;
                case '+':
                        level_regrow(l,
                                     add_upto(mul_upto(l->last, 2, c.limit),
                                              EPSILON_NODES, c.limit),
                                     0, &c);
                        p++;
                        continue;
                case '{':
                        n = interval_nodes(p, l->last, c.limit, &end, &min);
                        if (n != SIZE_MAX) {
                                level_regrow(l, n, min == 0, &c);
                                p = end;
                                continue;
                        }
                        break;
                case '[':
                        level_item(l, 1, &c, 1, 0);
                        p = skip_bracket(p);
                        continue;
                case '\\':
                        if (p[1] >= '1' && p[1] <= '9')
                                c.hazards |= FD_REGEX_BACKREF;
                        level_item(l, 1, &c, 1, escape_is_anchor(p));
                        p += p[1] ? 2 : 1;
                        continue;
                default:
                        break;
                }
                level_item(l, 1, &c, 1, 0);
                p++;
        }
        for (; depth > 0; depth--) /* unclosed groups */
                level_close(&lv[depth - 1], &lv[depth], &c);
        free(lv);
        if (hazards)
                *hazards = c.hazards;
        return c.made;
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
                return fd_regex_memo_match(rule->rx->memo, &rule->rx->re, v);
        default:
                return 0;
        }
}

static int rule_matches(const fd_score_rule *rule, const fd_lead_event *le)
{
        /* The first bytes first: most rules name another event type, and
         * most types differ from it there (no strcmp call). */
        if (rule->event_type &&
            (!le->type || le->type[0] != rule->event_type[0] ||
             strcmp(le->type, rule->event_type) != 0))
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
                if (rule->match == FD_MATCH_REGEX)
                        fd_rule_regex_release(rule->rx);
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
