/* funnelctl cold — leads going cold: the alerts counted in P:{T}:cold (all
 * time) or P:{T}:cold:M (deadlines in month M) per stage, with the value
 * lost per currency and the alerts per source channel; the leads cold now
 * (P:{T}:cold:leads:<stage>), oldest deadline first; and with --upcoming
 * the tenant's pending deadlines, read from the deadline sets
 * P:due[:wall]:G:<p> of every input partition p of the group. */
#include "ctl_cmds.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "funneld/timebucket.h"

#define COLD_DEFAULT_LIMIT 20
#define COLD_MAX_LIMIT     1000
#define COLD_MAX_CURS      64
#define COLD_CUR_LEN       16 /* ISO 4217 codes are 3; room for more */
#define COLD_MAX_PARTS     4096

/* The stages that go cold, in table order. */
static const char *const cold_stages[] = {"mql", "sql"};
#define COLD_STAGE_CNT 2

enum { A_PERIOD, A_STAGE, A_ALERTS, A__CNT };
static const ctl_col alert_cols[A__CNT] = {
        {"period", CTL_STR, NULL},
        {"stage", CTL_STR, NULL},
        {"alerts", CTL_INT, NULL},
};

/* Value columns per currency: one per stage, then value:<CUR>. */
enum { V_PERIOD, V_CUR, V_MQL, V_SQL, V_TOTAL, V__CNT };
static const ctl_col value_cols[V__CNT] = {
        {"period", CTL_STR, NULL},          {"currency", CTL_STR, NULL},
        {"mql_value_minor", CTL_INT, NULL}, {"sql_value_minor", CTL_INT, NULL},
        {"value_minor", CTL_INT, NULL},
};

enum { C_PERIOD, C_STAGE, C_CHANNEL, C_ALERTS, C_SHARE, C__CNT };
static const ctl_col channel_cols[C__CNT] = {
        {"period", CTL_STR, NULL},  {"stage", CTL_STR, NULL},
        {"channel", CTL_STR, NULL}, {"alerts", CTL_INT, NULL},
        {"share", CTL_REAL, NULL},
};

enum { N_STAGE, N_LEADS, N_SHOWN, N__CNT };
static const ctl_col now_cols[N__CNT] = {
        {"stage", CTL_STR, NULL},
        {"leads", CTL_INT, NULL},
        {"shown", CTL_INT, NULL},
};

enum { L_STAGE, L_LEAD, L_DEADLINE, L_DEADLINE_MS, L_DAYS, L__CNT };
static const ctl_col lead_cols[L__CNT] = {
        {"stage", CTL_STR, NULL},     {"lead_id", CTL_STR, NULL},
        {"deadline", CTL_STR, NULL},  {"deadline_ms", CTL_INT, NULL},
        {"days_cold", CTL_INT, NULL},
};

enum {
        U_LEAD,
        U_STAGE,
        U_DEADLINE,
        U_DEADLINE_MS,
        U_DUE_IN,
        U_CLOCK,
        U_PART,
        U__CNT
};
static const ctl_col upcoming_cols[U__CNT] = {
        {"lead_id", CTL_STR, NULL},       {"stage", CTL_STR, NULL},
        {"deadline", CTL_STR, NULL},      {"deadline_ms", CTL_INT, NULL},
        {"due_in_hours", CTL_REAL, NULL}, {"clock", CTL_STR, NULL},
        {"partition", CTL_INT, NULL},
};

enum { P_GROUP, P_PARTS, P_PENDING, P_SHOWN, P__CNT };
static const ctl_col pending_cols[P__CNT] = {
        {"group", CTL_STR, NULL},
        {"partitions", CTL_INT, NULL},
        {"pending", CTL_INT, NULL},
        {"shown", CTL_INT, NULL},
};

/* The alert counters of one period, from one hash. */
typedef struct cold_counts {
        int64_t alerts[COLD_STAGE_CNT];
        char curs[COLD_MAX_CURS][COLD_CUR_LEN];
        int64_t value[COLD_MAX_CURS][COLD_STAGE_CNT + 1]; /* + value:<CUR> */
        int cur_cnt;
} cold_counts;

/* One "<stage>:channel:<ch>" counter; channel points into the hash read. */
typedef struct cold_channel {
        int stage;
        const char *channel;
        int64_t alerts;
} cold_channel;

/* A pending deadline of the tenant (lead owned). */
typedef struct cold_due {
        char *lead;
        int64_t at;
        long partition;
        int wall;
} cold_due;

/* The soonest deadlines seen, sorted by (at, lead), at most cap. */
typedef struct due_list {
        cold_due *e;
        size_t cnt, cap;
        int64_t seen; /* every member of the tenant read */
} due_list;

/* --limit as a number 0..COLD_MAX_LIMIT; -1 when it is not one. */
static int parse_limit(const char *s)
{
        long n = 0;
        if (!s)
                return COLD_DEFAULT_LIMIT;
        if (!*s || strlen(s) > 4)
                return -1;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -1;
                n = n * 10 + (*p - '0');
        }
        return n <= COLD_MAX_LIMIT ? (int)n : -1;
}

/* --upcoming (funnelctl sets "1") or upcoming=1|true|0|false on the JSON
 * API: 1, 0, or -1 for another value. */
static int parse_flag(const char *s)
{
        if (!s || !strcmp(s, "0") || !strcmp(s, "false"))
                return 0;
        if (!strcmp(s, "1") || !strcmp(s, "true"))
                return 1;
        return -1;
}

int ctl_cold_check(ctl_ctx *ctx)
{
        const ctl_opts *o = &ctx->opt;
        ctl_month m;
        if (!o->tenant)
                return ctl_usage(ctx, "cold needs --tenant T");
        if (o->from || o->to || o->model || o->currency || o->by || o->days ||
            o->until || o->date)
                return ctl_usage(ctx, "cold takes --month YYYY-MM, --limit N "
                                      "and --upcoming only (no --from/--to, "
                                      "--model, --currency, --by, --days, "
                                      "--until or --date)");
        if (o->month && ctl_parse_month_opt(ctx, "--month", o->month, &m))
                return CTL_EXIT_USAGE;
        if (parse_limit(o->limit) < 0) {
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "--limit '%s' is not a number of leads; give 0 to "
                         "%d (default %d; 0 shows the counts only)",
                         o->limit, COLD_MAX_LIMIT, COLD_DEFAULT_LIMIT);
                return CTL_EXIT_USAGE;
        }
        if (parse_flag(o->upcoming) < 0) {
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "upcoming '%s' is not a flag; give upcoming=1 (or "
                         "true) to list the pending deadlines, 0 (or false) "
                         "or nothing not to",
                         o->upcoming);
                return CTL_EXIT_USAGE;
        }
        return CTL_EXIT_OK;
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Index of stage name s[0..len) in cold_stages, or -1. */
static int stage_of(const char *s, size_t len)
{
        for (int i = 0; i < COLD_STAGE_CNT; i++)
                if (strlen(cold_stages[i]) == len &&
                    !strncmp(s, cold_stages[i], len))
                        return i;
        return -1;
}

/* The value slot of currency cur (added when new), or NULL when it is not
 * a plausible code or there are too many (warned). */
static int64_t *value_slot(cold_counts *c, const char *cur, const char *key,
                           const char *field)
{
        int i;
        if (*cur && strlen(cur) < COLD_CUR_LEN) {
                for (i = 0; i < c->cur_cnt; i++)
                        if (!strcmp(c->curs[i], cur))
                                return c->value[i];
                if (c->cur_cnt < COLD_MAX_CURS) {
                        snprintf(c->curs[c->cur_cnt], COLD_CUR_LEN, "%s", cur);
                        return c->value[c->cur_cnt++];
                }
        }
        fprintf(stderr,
                "funnelctl: warning: %s field %s left out (not a currency "
                "code, or more than %d currencies)\n",
                key, field, COLD_MAX_CURS);
        return NULL;
}

/* The counter field f of h stands for, or NULL for a field not shown;
 * channel fields go to chans (*chan_cnt of them). */
static int64_t *field_slot(cold_counts *c, const char *f, cold_channel *chans,
                           size_t *chan_cnt, const char *key)
{
        const char *colon = strchr(f, ':');
        int64_t *v;
        int s;
        if (!colon)
                return (s = stage_of(f, strlen(f))) >= 0 ? &c->alerts[s] : NULL;
        if (!strncmp(f, "value:", 6))
                return (v = value_slot(c, f + 6, key, f)) ? &v[COLD_STAGE_CNT]
                                                          : NULL;
        if ((s = stage_of(f, (size_t)(colon - f))) < 0)
                return NULL; /* a later addition: not shown */
        if (!strncmp(colon, ":value:", 7))
                return (v = value_slot(c, colon + 7, key, f)) ? &v[s] : NULL;
        if (!strncmp(colon, ":channel:", 9)) {
                cold_channel *ch = &chans[(*chan_cnt)++];
                ch->stage = s;
                ch->channel = colon + 9;
                return &ch->alerts;
        }
        return NULL;
}

static int cmp_channel(const void *a, const void *b)
{
        const cold_channel *x = a, *y = b;
        if (x->stage != y->stage)
                return x->stage - y->stage;
        if (x->alerts != y->alerts)
                return x->alerts > y->alerts ? -1 : 1;
        return strcmp(x->channel, y->channel);
}

static int cmp_cur(const void *a, const void *b)
{
        return strcmp(a, b);
}

/* Tables cold, cold_value and cold_channels from P:{T}:cold[:M]. *total is
 * the alerts of the period. */
static int add_alerts(ctl_ctx *ctx, int64_t *total)
{
        const char *period = ctx->opt.month ? ctx->opt.month : "all";
        char key[512], suffix[64], sorted[COLD_MAX_CURS][COLD_CUR_LEN];
        cold_channel *chans = NULL;
        cold_counts *c = calloc(1, sizeof(*c));
        size_t chan_cnt = 0;
        ctl_hash h = {0};
        ctl_table *t;
        int rc = CTL_EXIT_RUNTIME;

        snprintf(suffix, sizeof(suffix), "cold%s%s", ctx->opt.month ? ":" : "",
                 ctx->opt.month ? ctx->opt.month : "");
        if (!c) {
                snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory");
                return rc;
        }
        if (ctl_tenant_key(ctx, key, sizeof(key), suffix) ||
            ctl_read_period_hash(ctx, "cold", &h))
                goto done;
        if (!(chans = calloc(h.cnt + 1, sizeof(*chans)))) {
                snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory");
                goto done;
        }
        for (size_t i = 0; i < h.cnt; i++) {
                int64_t *dst = field_slot(c, h.field[i], chans, &chan_cnt, key);
                if (dst && ctl_parse_i64(h.value[i], dst))
                        fprintf(stderr,
                                "funnelctl: warning: %s field %s holds '%s', "
                                "not a count; shown as 0\n",
                                key, h.field[i], h.value[i]);
        }

        *total = 0;
        t = ctl_doc_table(ctx->doc, "cold", alert_cols, A__CNT);
        for (int s = 0; s < COLD_STAGE_CNT; s++) {
                ctl_row(t);
                ctl_set_str(t, A_PERIOD, period);
                ctl_set_str(t, A_STAGE, cold_stages[s]);
                ctl_set_int(t, A_ALERTS, c->alerts[s]);
                *total += c->alerts[s];
        }

        memcpy(sorted, c->curs, sizeof(sorted[0]) * (size_t)c->cur_cnt);
        qsort(sorted, (size_t)c->cur_cnt, sizeof(sorted[0]), cmp_cur);
        t = ctl_doc_table(ctx->doc, "cold_value", value_cols, V__CNT);
        for (int i = 0; i < c->cur_cnt; i++) {
                const int64_t *v = value_slot(c, sorted[i], key, sorted[i]);
                ctl_row(t);
                ctl_set_str(t, V_PERIOD, period);
                ctl_set_str(t, V_CUR, sorted[i]);
                ctl_set_int(t, V_MQL, v[0]);
                ctl_set_int(t, V_SQL, v[1]);
                ctl_set_int(t, V_TOTAL, v[COLD_STAGE_CNT]);
        }

        qsort(chans, chan_cnt, sizeof(*chans), cmp_channel);
        t = ctl_doc_table(ctx->doc, "cold_channels", channel_cols, C__CNT);
        for (size_t i = 0; i < chan_cnt; i++) {
                ctl_row(t);
                ctl_set_str(t, C_PERIOD, period);
                ctl_set_str(t, C_STAGE, cold_stages[chans[i].stage]);
                ctl_set_str(t, C_CHANNEL, chans[i].channel);
                ctl_set_int(t, C_ALERTS, chans[i].alerts);
                ctl_set_ratio(t, C_SHARE, chans[i].alerts,
                              c->alerts[chans[i].stage], 4);
        }
        rc = CTL_EXIT_OK;
done:
        free(chans);
        free(c);
        ctl_hash_free(&h);
        return rc;
}

/* A sorted-set score (ms) as Redis prints it; -1 when it is not one. */
static int parse_score(const redisReply *r, int64_t *ms)
{
        char *end;
        double d;
        if (r->type != REDIS_REPLY_STRING)
                return -1;
        d = strtod(r->str, &end);
        if (end == r->str || *end || !isfinite(d) || fabs(d) > 9.0e15)
                return -1;
        *ms = (int64_t)llround(d);
        return 0;
}

/* The time zone deadlines are shown in: the tenant's (UTC inside funneld,
 * whose HTTP thread never switches TZ: see ctl_ctx.utc_clock). */
static const char *deadline_tz(const ctl_ctx *ctx)
{
        return ctl_now_tz(ctx);
}

/* Tables cold_now and cold_leads: per stage ZCARD and the limit oldest of
 * P:{T}:cold:leads:<stage>. *total is the leads cold now. */
static int add_cold_now(ctl_ctx *ctx, int limit, int64_t now, int64_t *total)
{
        ctl_table *sum = ctl_doc_table(ctx->doc, "cold_now", now_cols, N__CNT);
        ctl_table *t = ctl_doc_table(ctx->doc, "cold_leads", lead_cols, L__CNT);
        *total = 0;
        for (int s = 0; s < COLD_STAGE_CNT; s++) {
                char key[512], suffix[64], iso[64];
                redisReply *card, *range = NULL;
                int64_t leads, shown = 0;
                snprintf(suffix, sizeof(suffix), "cold:leads:%s",
                         cold_stages[s]);
                if (ctl_tenant_key(ctx, key, sizeof(key), suffix))
                        return CTL_EXIT_RUNTIME;
                card = ctl_redis_cmd(&ctx->redis, ctx->errstr,
                                     sizeof(ctx->errstr), "ZCARD %s", key);
                if (!card)
                        return CTL_EXIT_RUNTIME;
                leads = card->type == REDIS_REPLY_INTEGER ? card->integer : -1;
                freeReplyObject(card);
                if (leads > 0 && limit > 0 &&
                    !(range = ctl_redis_cmd(
                              &ctx->redis, ctx->errstr, sizeof(ctx->errstr),
                              "ZRANGE %s 0 %d WITHSCORES", key, limit - 1)))
                        return CTL_EXIT_RUNTIME;
                if (leads < 0 || (range && range->type != REDIS_REPLY_ARRAY)) {
                        if (range)
                                freeReplyObject(range);
                        snprintf(ctx->errstr, sizeof(ctx->errstr),
                                 "unexpected reply reading %s; check that it "
                                 "is a sorted set as docs/REDIS.md describes",
                                 key);
                        return CTL_EXIT_RUNTIME;
                }
                for (size_t i = 0; range && i + 1 < range->elements; i += 2) {
                        const redisReply *m = range->element[i];
                        int64_t at;
                        if (m->type != REDIS_REPLY_STRING ||
                            parse_score(range->element[i + 1], &at)) {
                                fprintf(stderr,
                                        "funnelctl: warning: %s holds an "
                                        "entry that is not lead id -> "
                                        "deadline ms; left out\n",
                                        key);
                                continue;
                        }
                        ctl_iso_ms_tz(deadline_tz(ctx), at, iso, sizeof(iso));
                        ctl_row(t);
                        ctl_set_str(t, L_STAGE, cold_stages[s]);
                        ctl_set_str(t, L_LEAD, m->str);
                        ctl_set_str(t, L_DEADLINE, iso);
                        ctl_set_int(t, L_DEADLINE_MS, at);
                        ctl_set_int(t, L_DAYS,
                                    fd_floor_div(now - at, FD_DAY_MS));
                        shown++;
                }
                if (range)
                        freeReplyObject(range);
                ctl_row(sum);
                ctl_set_str(sum, N_STAGE, cold_stages[s]);
                ctl_set_int(sum, N_LEADS, leads);
                ctl_set_int(sum, N_SHOWN, shown);
                *total += leads;
        }
        return CTL_EXIT_OK;
}

static int cmp_long(const void *a, const void *b)
{
        long x = *(const long *)a, y = *(const long *)b;
        return (x > y) - (x < y);
}

/* The input partitions of the group: the <partition> of every
 * "<topic>:<partition>" field of P:offsets:G, sorted, unique. funneld
 * stores a partition's offset in the same MULTI/EXEC as the deadlines its
 * events set, so every deadline set has one. */
static int read_partitions(ctl_ctx *ctx, long *parts, size_t *cnt)
{
        char key[600];
        ctl_hash h;
        size_t n = 0;
        if ((size_t)snprintf(key, sizeof(key), "%s:offsets:%s", ctx->prefix,
                             ctx->group) >= sizeof(key)) {
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "the group name '%.64s' is too long; check --group",
                         ctx->group);
                return CTL_EXIT_RUNTIME;
        }
        if (ctl_redis_hgetall(&ctx->redis, key, &h, ctx->errstr,
                              sizeof(ctx->errstr)))
                return CTL_EXIT_RUNTIME;
        for (size_t i = 0; i < h.cnt && n < COLD_MAX_PARTS; i++) {
                const char *colon = strrchr(h.field[i], ':');
                char *end;
                long p = colon ? strtol(colon + 1, &end, 10) : -1;
                int seen = 0;
                if (!colon || !colon[1] || *end || p < 0)
                        continue;
                for (size_t j = 0; j < n && !seen; j++)
                        seen = parts[j] == p;
                if (!seen)
                        parts[n++] = p;
        }
        ctl_hash_free(&h);
        qsort(parts, n, sizeof(*parts), cmp_long);
        *cnt = n;
        return CTL_EXIT_OK;
}

static int due_before(const cold_due *a, int64_t at, const char *lead)
{
        return a->at != at ? a->at < at : strcmp(a->lead, lead) < 0;
}

/* Offers the deadline at of lead (its id, len bytes) to the list. 0, or -1
 * when out of memory. */
static int due_offer(due_list *l, const char *lead, size_t len, int64_t at,
                     long partition, int wall)
{
        size_t pos;
        char *id;
        l->seen++;
        if (!l->cap)
                return 0;
        if (!(id = strndup(lead, len)))
                return -1;
        if (l->cnt == l->cap && due_before(&l->e[l->cnt - 1], at, id))
                goto skip; /* later than every one kept */
        for (size_t i = 0; i < l->cnt; i++)
                if (!strcmp(l->e[i].lead, id))
                        goto skip; /* SCAN returned it twice */
        for (pos = l->cnt; pos > 0 && !due_before(&l->e[pos - 1], at, id);
             pos--)
                ;
        if (l->cnt == l->cap)
                free(l->e[--l->cnt].lead);
        memmove(&l->e[pos + 1], &l->e[pos], (l->cnt - pos) * sizeof(*l->e));
        l->e[pos] = (cold_due){id, at, partition, wall};
        l->cnt++;
        return 0;
skip:
        free(id);
        return 0;
}

/* ZSCANs the deadline set key for the tenant's members "T:lead_id". */
static int scan_due(ctl_ctx *ctx, const char *key, const char *pattern,
                    long partition, int wall, due_list *l)
{
        size_t plen = strlen(ctx->opt.tenant) + 1;
        char cursor[32] = "0";
        do {
                redisReply *reply = ctl_redis_cmd(
                        &ctx->redis, ctx->errstr, sizeof(ctx->errstr),
                        "ZSCAN %s %s MATCH %s COUNT 1000", key, cursor,
                        pattern);
                const redisReply *items;
                if (!reply)
                        return CTL_EXIT_RUNTIME;
                if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
                    reply->element[0]->type != REDIS_REPLY_STRING ||
                    reply->element[1]->type != REDIS_REPLY_ARRAY) {
                        freeReplyObject(reply);
                        snprintf(ctx->errstr, sizeof(ctx->errstr),
                                 "unexpected reply to ZSCAN %s; check that "
                                 "it is a sorted set as docs/REDIS.md "
                                 "describes",
                                 key);
                        return CTL_EXIT_RUNTIME;
                }
                snprintf(cursor, sizeof(cursor), "%s", reply->element[0]->str);
                items = reply->element[1];
                for (size_t i = 0; i + 1 < items->elements; i += 2) {
                        const redisReply *m = items->element[i];
                        int64_t at;
                        if (m->type != REDIS_REPLY_STRING || m->len <= plen ||
                            parse_score(items->element[i + 1], &at))
                                continue;
                        if (due_offer(l, m->str + plen, m->len - plen, at,
                                      partition, wall)) {
                                freeReplyObject(reply);
                                snprintf(ctx->errstr, sizeof(ctx->errstr),
                                         "out of memory");
                                return CTL_EXIT_RUNTIME;
                        }
                }
                freeReplyObject(reply);
        } while (strcmp(cursor, "0") != 0);
        return CTL_EXIT_OK;
}

/* The lead's current stage (HGET P:{T}:lead:L stage) into buf; "" when the
 * lead hash has none. */
static int lead_stage(ctl_ctx *ctx, const char *lead, char *buf,
                      size_t buf_size)
{
        char suffix[300], key[1024];
        redisReply *reply;
        buf[0] = '\0';
        if ((size_t)snprintf(suffix, sizeof(suffix), "lead:%s", lead) >=
                    sizeof(suffix) ||
            ctl_tenant_key(ctx, key, sizeof(key), suffix))
                return CTL_EXIT_OK; /* not a lead id funneld stores */
        reply = ctl_redis_cmd(&ctx->redis, ctx->errstr, sizeof(ctx->errstr),
                              "HGET %s stage", key);
        if (!reply)
                return CTL_EXIT_RUNTIME;
        if (reply->type == REDIS_REPLY_STRING)
                snprintf(buf, buf_size, "%s", reply->str);
        freeReplyObject(reply);
        return CTL_EXIT_OK;
}

/* Tables upcoming and upcoming_total: the tenant's pending deadlines in
 * P:due:G:<p> and P:due:wall:G:<p>, soonest first. */
static int add_upcoming(ctl_ctx *ctx, int limit, int64_t now)
{
        char esc[600], pattern[620], key[1024];
        long *parts = calloc(COLD_MAX_PARTS, sizeof(*parts));
        due_list l = {calloc((size_t)limit + 1, sizeof(cold_due)), 0,
                      (size_t)limit, 0};
        size_t part_cnt = 0;
        ctl_table *t;
        int rc = CTL_EXIT_RUNTIME;

        if (!parts || !l.e) {
                snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory");
                goto done;
        }
        if (ctl_glob_escape(ctx->opt.tenant, esc, sizeof(esc))) {
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "tenant id '%.64s' is too long; check --tenant",
                         ctx->opt.tenant);
                goto done;
        }
        snprintf(pattern, sizeof(pattern), "%s:*", esc);
        if ((rc = read_partitions(ctx, parts, &part_cnt)))
                goto done;
        for (size_t i = 0; i < part_cnt; i++) {
                for (int wall = 0; wall < 2; wall++) {
                        snprintf(key, sizeof(key), "%s:due:%s%s:%ld",
                                 ctx->prefix, wall ? "wall:" : "", ctx->group,
                                 parts[i]);
                        if ((rc = scan_due(ctx, key, pattern, parts[i], wall,
                                           &l)))
                                goto done;
                }
        }
        t = ctl_doc_table(ctx->doc, "upcoming", upcoming_cols, U__CNT);
        for (size_t i = 0; i < l.cnt; i++) {
                const cold_due *d = &l.e[i];
                char stage[64], iso[64];
                if ((rc = lead_stage(ctx, d->lead, stage, sizeof(stage))))
                        goto done;
                ctl_iso_ms_tz(deadline_tz(ctx), d->at, iso, sizeof(iso));
                ctl_row(t);
                ctl_set_str(t, U_LEAD, d->lead);
                if (stage[0])
                        ctl_set_str(t, U_STAGE, stage);
                ctl_set_str(t, U_DEADLINE, iso);
                ctl_set_int(t, U_DEADLINE_MS, d->at);
                ctl_set_real(t, U_DUE_IN, (double)(d->at - now) / FD_HOUR_MS,
                             1);
                ctl_set_str(t, U_CLOCK, d->wall ? "wall" : "event");
                ctl_set_int(t, U_PART, d->partition);
        }
        t = ctl_doc_table(ctx->doc, "upcoming_total", pending_cols, P__CNT);
        ctl_row(t);
        ctl_set_str(t, P_GROUP, ctx->group);
        ctl_set_int(t, P_PARTS, (int64_t)part_cnt);
        ctl_set_int(t, P_PENDING, l.seen);
        ctl_set_int(t, P_SHOWN, (int64_t)l.cnt);
        ctl_doc_note(ctx->doc,
                     "upcoming: the tenant's pending deadlines (not yet "
                     "cold), soonest first, from the deadline sets "
                     "%s:due:%s:<p> (clock event) and %s:due:wall:%s:<p> "
                     "(clock wall) of the partitions in %s:offsets:%s; "
                     "due_in_hours < 0: the wall clock is past the deadline "
                     "but the partition's event clock is not (no later event "
                     "of it yet); stage is the lead's current stage",
                     ctx->prefix, ctx->group, ctx->prefix, ctx->group,
                     ctx->prefix, ctx->group);
        if (!part_cnt)
                ctl_doc_note(ctx->doc,
                             "no input partition recorded for group '%s' "
                             "(%s:offsets:%s is empty): funneld has not run "
                             "with this group under this prefix; check "
                             "--group or funneld.group.id",
                             ctx->group, ctx->prefix, ctx->group);
        rc = CTL_EXIT_OK;
done:
        for (size_t i = 0; i < l.cnt; i++)
                free(l.e[i].lead);
        free(l.e);
        free(parts);
        return rc;
}

int ctl_cold_run(ctl_ctx *ctx)
{
        const int limit = parse_limit(ctx->opt.limit);
        const int64_t now = now_ms();
        const char *tz = deadline_tz(ctx);
        int64_t alerts = 0, cold_now = 0;
        int rc;

        if (limit < 0 || parse_flag(ctx->opt.upcoming) < 0)
                return ctl_cold_check(ctx);
        if ((rc = ctl_check_tenant(ctx)) != CTL_EXIT_OK)
                return rc;
        if ((rc = add_alerts(ctx, &alerts)) ||
            (rc = add_cold_now(ctx, limit, now, &cold_now)))
                return rc;
        if (!alerts && !cold_now)
                ctl_doc_note(ctx->doc,
                             "tenant '%s' has no cold-lead alert %s and no "
                             "lead cold now: no MQL or SQL has passed its "
                             "deadline yet, or the tenant's alerts are off "
                             "(cold.mql_sla_hours, cold.sql_days = 0)",
                             ctx->opt.tenant,
                             ctx->opt.month ? "with a deadline in that month"
                                            : "recorded");
        ctl_doc_note(ctx->doc,
                     "alerts: one per lead, stage and cycle, when an MQL "
                     "stays past cold.mql_sla_hours or an SQL past "
                     "cold.sql_days; %s; value: the revenue the funnel "
                     "expects of the lead (goal.deal_size_minor x rates), "
                     "minor units, counted only when the tenant's goal sets "
                     "them; share = a channel's alerts / the stage's",
                     ctx->opt.month ? "counted in the month of the deadline "
                                      "(tenant time zone)"
                                    : "all time");
        ctl_doc_note(ctx->doc,
                     "cold_leads: the leads cold now (alert raised, still in "
                     "that stage), oldest deadline first, at most %d per "
                     "stage (--limit); cold_now.leads counts them all, "
                     "whatever --month; deadline in %s; days_cold = whole "
                     "days since the deadline",
                     limit, tz && *tz ? tz : "UTC");
        if (parse_flag(ctx->opt.upcoming) == 1)
                return add_upcoming(ctx, limit, now);
        return CTL_EXIT_OK;
}
