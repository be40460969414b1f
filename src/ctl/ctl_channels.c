/* funnelctl channels — attributed revenue per channel (or campaign) and
 * model from P:{T}:revenue:<model>:<CUR>[:M], against the spend of
 * P:{T}:spend:<CUR>[:M] (ROAS, ROI), and cost per lead, MQL, SQL and
 * customer from the funnel counters by source channel (campaign). */
#include "ctl_cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "funneld/attribution.h"

/* One revenue hash found by SCAN. */
typedef struct rev_key {
        int model;
        char currency[16];
        char key[512];
} rev_key;

typedef struct rev_list {
        rev_key *keys;
        size_t cnt, cap;
} rev_list;

enum {
        CH_MODEL,
        CH_CUR,
        CH_PERIOD,
        CH_NAME,
        CH_REVENUE,
        CH_SHARE,
        CH_SPEND,
        CH_ROAS,
        CH_ROI,
        CH__CNT
};

/* The channel and campaign tables differ in the name column only. */
#define REVENUE_COLS(name)                                                     \
        {                                                                      \
                {"model", CTL_STR, NULL}, {"currency", CTL_STR, NULL},         \
                        {"period", CTL_STR, NULL}, {name, CTL_STR, NULL},      \
                        {"revenue_minor", CTL_INT, NULL},                      \
                        {"share", CTL_REAL, NULL},                             \
                        {"spend_minor", CTL_INT, NULL},                        \
                        {"roas", CTL_REAL, NULL},                              \
                {                                                              \
                        "roi", CTL_REAL, NULL                                  \
                }                                                              \
        }

static const ctl_col channel_cols[CH__CNT] = REVENUE_COLS("channel");
static const ctl_col campaign_cols[CH__CNT] = REVENUE_COLS("campaign");

enum {
        CO_CUR,
        CO_PERIOD,
        CO_NAME,
        CO_SPEND,
        CO_LEADS,
        CO_MQLS,
        CO_SQLS,
        CO_CUSTOMERS,
        CO_CPL,
        CO_CPMQL,
        CO_CPSQL,
        CO_CAC,
        CO__CNT
};

#define COST_COLS(name)                                                        \
        {                                                                      \
                {"currency", CTL_STR, NULL}, {"period", CTL_STR, NULL},        \
                        {name, CTL_STR, NULL}, {"spend_minor", CTL_INT, NULL}, \
                        {"leads", CTL_INT, NULL}, {"mqls", CTL_INT, NULL},     \
                        {"sqls", CTL_INT, NULL}, {"customers", CTL_INT, NULL}, \
                        {"cost_per_lead", CTL_REAL, NULL},                     \
                        {"cost_per_mql", CTL_REAL, NULL},                      \
                        {"cost_per_sql", CTL_REAL, NULL},                      \
                {                                                              \
                        "cac", CTL_REAL, NULL                                  \
                }                                                              \
        }

static const ctl_col channel_cost_cols[CO__CNT] = COST_COLS("channel");
static const ctl_col campaign_cost_cols[CO__CNT] = COST_COLS("campaign");

enum {
        TO_MODEL,
        TO_CUR,
        TO_PERIOD,
        TO_DEALS,
        TO_TOTAL,
        TO_ATTRIBUTED,
        TO_UNATTRIBUTED,
        TO__CNT
};

static const ctl_col total_cols[TO__CNT] = {
        {"model", CTL_STR, NULL},
        {"currency", CTL_STR, NULL},
        {"period", CTL_STR, NULL},
        {"deals", CTL_INT, NULL},
        {"total_minor", CTL_INT, NULL},
        {"attributed_minor", CTL_INT, NULL},
        {"unattributed_minor", CTL_INT, NULL},
};

static int valid_currency(const char *s)
{
        if (strlen(s) != 3)
                return 0;
        for (int i = 0; i < 3; i++)
                if (s[i] < 'A' || s[i] > 'Z')
                        return 0;
        return 1;
}

int ctl_channels_check(ctl_ctx *ctx)
{
        const ctl_opts *o = &ctx->opt;
        ctl_month m;
        const char *what = NULL;
        if (!o->tenant)
                what = "channels needs --tenant T";
        else if (o->from || o->to)
                what = "channels takes --month YYYY-MM (one month) or no "
                       "period (all time), not --from/--to";
        else if (o->month && ctl_month_parse(o->month, &m))
                what = "--month is not a month; write it as YYYY-MM";
        else if (o->model && strcmp(o->model, "all") != 0 &&
                 fd_model_parse(o->model) < 0)
                what = "unknown --model; use all, first_touch, last_touch, "
                       "linear, position_based, u_shaped, w_shaped, "
                       "full_path, time_decay, j_shaped, inverse_j or custom";
        else if (o->currency && !valid_currency(o->currency))
                what = "--currency must be an ISO 4217 code in capitals "
                       "(e.g. USD; XXX for deals without a currency)";
        else if (o->by && strcmp(o->by, "channel") != 0 &&
                 strcmp(o->by, "campaign") != 0)
                what = "--by must be channel or campaign";
        if (!what)
                return CTL_EXIT_OK;
        snprintf(ctx->errstr, sizeof(ctx->errstr), "%s", what);
        return CTL_EXIT_USAGE;
}

/* Currencies with spend in the options' period. */
typedef struct cur_list {
        char cur[16][16];
        size_t cnt;
} cur_list;

static int cmp_cur(const void *a, const void *b)
{
        return strcmp(a, b);
}

/* Keeps the currency of key when it names a spend hash of the options'
 * period (P:{T}:spend:<CUR> for all time, P:{T}:spend:<CUR>:<M>). */
static int consider_spend(ctl_ctx *ctx, void *arg, const char *key,
                          size_t base_len)
{
        cur_list *list = arg;
        const char *cur = key + base_len, *colon = strchr(cur, ':');
        size_t len = colon ? (size_t)(colon - cur) : strlen(cur);
        if (ctx->opt.month ? !colon || strcmp(colon + 1, ctx->opt.month) != 0
                           : colon != NULL)
                return 0;
        if (len == 0 || len >= sizeof(list->cur[0]) ||
            (ctx->opt.currency && (strlen(ctx->opt.currency) != len ||
                                   strncmp(ctx->opt.currency, cur, len) != 0)))
                return 0;
        for (size_t i = 0; i < list->cnt; i++)
                if (strncmp(list->cur[i], cur, len) == 0 && !list->cur[i][len])
                        return 0;
        if (list->cnt < sizeof(list->cur) / sizeof(list->cur[0]))
                snprintf(list->cur[list->cnt++], sizeof(list->cur[0]), "%.*s",
                         (int)len, cur);
        return 0;
}

/* Keeps key when it names a revenue hash that the options select. */
static int consider(ctl_ctx *ctx, void *arg, const char *key, size_t base_len)
{
        rev_list *list = arg;
        const char *rest = key + base_len, *c1, *c2;
        char model[64];
        int idx;
        c1 = strchr(rest, ':');
        if (!c1 || (size_t)(c1 - rest) >= sizeof(model))
                return 0;
        snprintf(model, sizeof(model), "%.*s", (int)(c1 - rest), rest);
        idx = fd_model_parse(model);
        if (idx < 0)
                return 0;
        if (ctx->opt.model && strcmp(ctx->opt.model, "all") != 0 &&
            strcmp(ctx->opt.model, model) != 0)
                return 0;
        c2 = strchr(c1 + 1, ':');
        if (ctx->opt.month ? !c2 || strcmp(c2 + 1, ctx->opt.month) != 0
                           : c2 != NULL)
                return 0;
        if (!c2)
                c2 = c1 + 1 + strlen(c1 + 1);
        if (c2 - c1 - 1 <= 0 || c2 - c1 - 1 >= 16 ||
            strlen(key) >= sizeof(list->keys[0].key))
                return 0;
        if (ctx->opt.currency &&
            (strlen(ctx->opt.currency) != (size_t)(c2 - c1 - 1) ||
             strncmp(ctx->opt.currency, c1 + 1, c2 - c1 - 1) != 0))
                return 0;
        for (size_t i = 0; i < list->cnt; i++) /* SCAN may repeat keys */
                if (strcmp(list->keys[i].key, key) == 0)
                        return 0;
        if (list->cnt == list->cap) {
                size_t cap = list->cap ? list->cap * 2 : 32;
                rev_key *keys = realloc(list->keys, cap * sizeof(*keys));
                if (!keys) {
                        snprintf(ctx->errstr, sizeof(ctx->errstr),
                                 "out of memory listing revenue keys");
                        return -1;
                }
                list->keys = keys;
                list->cap = cap;
        }
        list->keys[list->cnt].model = idx;
        snprintf(list->keys[list->cnt].currency, 16, "%.*s", (int)(c2 - c1 - 1),
                 c1 + 1);
        snprintf(list->keys[list->cnt].key, sizeof(list->keys[0].key), "%s",
                 key);
        list->cnt++;
        return 0;
}

/* SCANs P:{T}:<what>* (one slot thanks to the hash tag) and passes each
 * key to keep. */
static int scan_keys(ctl_ctx *ctx, const char *what,
                     int (*keep)(ctl_ctx *, void *, const char *, size_t),
                     void *arg)
{
        char base[512], pattern[1100], esc[1024];
        char cursor[32] = "0";
        if (ctl_tenant_key(ctx, base, sizeof(base), what))
                return CTL_EXIT_RUNTIME;
        if (ctl_glob_escape(base, esc, sizeof(esc)))
                return CTL_EXIT_RUNTIME;
        snprintf(pattern, sizeof(pattern), "%s*", esc);
        do {
                redisReply *reply = ctl_redis_cmd(
                        &ctx->redis, ctx->errstr, sizeof(ctx->errstr),
                        "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
                redisReply *keys;
                if (!reply)
                        return CTL_EXIT_RUNTIME;
                if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
                    reply->element[0]->type != REDIS_REPLY_STRING ||
                    reply->element[1]->type != REDIS_REPLY_ARRAY) {
                        freeReplyObject(reply);
                        snprintf(ctx->errstr, sizeof(ctx->errstr),
                                 "unexpected reply to SCAN; is this a "
                                 "Redis server (2.8 or later)?");
                        return CTL_EXIT_RUNTIME;
                }
                snprintf(cursor, sizeof(cursor), "%s", reply->element[0]->str);
                keys = reply->element[1];
                for (size_t i = 0; i < keys->elements; i++) {
                        if (keys->element[i]->type != REDIS_REPLY_STRING)
                                continue;
                        if (keep(ctx, arg, keys->element[i]->str,
                                 strlen(base))) {
                                freeReplyObject(reply);
                                return CTL_EXIT_RUNTIME;
                        }
                }
                freeReplyObject(reply);
        } while (strcmp(cursor, "0") != 0);
        return CTL_EXIT_OK;
}

static int cmp_key(const void *a, const void *b)
{
        const rev_key *x = a, *y = b;
        if (x->model != y->model)
                return x->model - y->model;
        return strcmp(x->currency, y->currency);
}

typedef struct credit {
        const char *name;
        int64_t minor;
} credit;

static int cmp_credit(const void *a, const void *b)
{
        const credit *x = a, *y = b;
        if (x->minor != y->minor)
                return x->minor > y->minor ? -1 : 1;
        return strcmp(x->name, y->name);
}

static int64_t num(const char *key, const char *field, const char *s)
{
        int64_t v;
        if (ctl_parse_i64(s, &v))
                fprintf(stderr,
                        "funnelctl: warning: %s field %s holds '%s', not an "
                        "amount; shown as 0\n",
                        key, field, s);
        return v;
}

/* The spend hash P:{T}:spend:<CUR>[:M] of the options' period (empty when
 * none was recorded). */
static int read_spend(ctl_ctx *ctx, const char *currency, ctl_hash *h)
{
        char what[32];
        snprintf(what, sizeof(what), "spend:%s", currency);
        if (ctl_read_period_hash(ctx, what, h))
                return CTL_EXIT_RUNTIME;
        /* by field name, so that rows come in a stable order */
        for (size_t i = 1; i < h->cnt; i++)
                for (size_t j = i;
                     j > 0 && strcmp(h->field[j - 1], h->field[j]) > 0; j--) {
                        char *f = h->field[j], *v = h->value[j];
                        h->field[j] = h->field[j - 1];
                        h->value[j] = h->value[j - 1];
                        h->field[j - 1] = f;
                        h->value[j - 1] = v;
                }
        return CTL_EXIT_OK;
}

/* Sets the spend, ROAS and ROI cells of the current row; spend is absent
 * (NULL cells) when the channel has no spend field. */
static void set_spend(ctl_table *rows, const char *key, const char *field,
                      const char *spend_s, int64_t revenue)
{
        if (!spend_s)
                return;
        int64_t spend = num(key, field, spend_s);
        ctl_set_int(rows, CH_SPEND, spend);
        ctl_set_ratio(rows, CH_ROAS, revenue, spend, 4);
        ctl_set_ratio(rows, CH_ROI, revenue - spend, spend, 4);
}

/* Adds the rows of one revenue hash. */
static int add_hash(ctl_ctx *ctx, const rev_key *k, ctl_table *rows,
                    ctl_table *totals)
{
        char field[600];
        ctl_hash sp;
        const char *prefix = ctx->opt.by && !strcmp(ctx->opt.by, "campaign")
                                     ? "campaign:"
                                     : "channel:";
        const char *model = fd_model_name((fd_model)k->model);
        const char *period = ctx->opt.month ? ctx->opt.month : "all";
        size_t plen = strlen(prefix), n = 0;
        int64_t total, attributed = 0;
        credit *credits;
        ctl_hash h;

        if (read_spend(ctx, k->currency, &sp))
                return CTL_EXIT_RUNTIME;
        if (ctl_redis_hgetall(&ctx->redis, k->key, &h, ctx->errstr,
                              sizeof(ctx->errstr))) {
                ctl_hash_free(&sp);
                return CTL_EXIT_RUNTIME;
        }
        credits = calloc(h.cnt + 1, sizeof(*credits));
        if (!credits) {
                ctl_hash_free(&sp);
                ctl_hash_free(&h);
                snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory");
                return CTL_EXIT_RUNTIME;
        }
        for (size_t i = 0; i < h.cnt; i++) {
                if (strncmp(h.field[i], prefix, plen) != 0)
                        continue;
                credits[n].name = h.field[i] + plen;
                credits[n].minor = num(k->key, h.field[i], h.value[i]);
                attributed += credits[n++].minor;
        }
        qsort(credits, n, sizeof(*credits), cmp_credit);
        total = num(k->key, "total", ctl_hash_get(&h, "total"));
        for (size_t i = 0; i < n; i++) {
                ctl_row(rows);
                ctl_set_str(rows, CH_MODEL, model);
                ctl_set_str(rows, CH_CUR, k->currency);
                ctl_set_str(rows, CH_PERIOD, period);
                ctl_set_str(rows, CH_NAME, credits[i].name);
                ctl_set_int(rows, CH_REVENUE, credits[i].minor);
                if (total > 0)
                        ctl_set_real(rows, CH_SHARE,
                                     (double)credits[i].minor / (double)total,
                                     4);
                snprintf(field, sizeof(field), "%s%s", prefix, credits[i].name);
                set_spend(rows, k->key, field, ctl_hash_get(&sp, field),
                          credits[i].minor);
        }
        /* Spent on, but credited nothing: revenue 0, ROI -1. */
        for (size_t i = 0; i < sp.cnt; i++) {
                const char *name = sp.field[i] + plen;
                size_t j = 0;
                if (strncmp(sp.field[i], prefix, plen) != 0)
                        continue;
                while (j < n && strcmp(credits[j].name, name) != 0)
                        j++;
                if (j < n)
                        continue;
                ctl_row(rows);
                ctl_set_str(rows, CH_MODEL, model);
                ctl_set_str(rows, CH_CUR, k->currency);
                ctl_set_str(rows, CH_PERIOD, period);
                ctl_set_str(rows, CH_NAME, name);
                ctl_set_int(rows, CH_REVENUE, 0);
                if (total > 0)
                        ctl_set_real(rows, CH_SHARE, 0, 4);
                set_spend(rows, k->key, sp.field[i], sp.value[i], 0);
        }
        ctl_row(totals);
        ctl_set_str(totals, TO_MODEL, model);
        ctl_set_str(totals, TO_CUR, k->currency);
        ctl_set_str(totals, TO_PERIOD, period);
        ctl_set_int(totals, TO_DEALS,
                    num(k->key, "deals", ctl_hash_get(&h, "deals")));
        ctl_set_int(totals, TO_TOTAL, total);
        ctl_set_int(totals, TO_ATTRIBUTED, attributed);
        ctl_set_int(
                totals, TO_UNATTRIBUTED,
                num(k->key, "unattributed", ctl_hash_get(&h, "unattributed")));
        free(credits);
        ctl_hash_free(&h);
        ctl_hash_free(&sp);
        return CTL_EXIT_OK;
}

/* Sum of the values of hash P:{T}:<suffix> (0 when absent). */
static int sum_hash(ctl_ctx *ctx, const char *suffix, int64_t *sum)
{
        char key[1024];
        ctl_hash h;
        *sum = 0;
        if (ctl_tenant_key(ctx, key, sizeof(key), suffix) ||
            ctl_redis_hgetall(&ctx->redis, key, &h, ctx->errstr,
                              sizeof(ctx->errstr)))
                return CTL_EXIT_RUNTIME;
        for (size_t i = 0; i < h.cnt; i++)
                *sum += num(key, h.field[i], h.value[i]);
        ctl_hash_free(&h);
        return CTL_EXIT_OK;
}

/* The stages a cost is divided by: leads, MQLs, SQLs, customers. */
static const char *const cost_stages[4] = {"lead", "mql", "sql", "closed_won"};

/* Adds the cost rows of the spend hash of currency: spend per channel (or
 * campaign) against the stage entries of the leads it sourced in the
 * period (all time: the sum of the daily counters). */
static int add_costs(ctl_ctx *ctx, const char *currency, ctl_table *costs)
{
        int campaign = ctx->opt.by && !strcmp(ctx->opt.by, "campaign");
        const char *dim = campaign ? "campaign" : "channel";
        const char *prefix = campaign ? "campaign:" : "channel:";
        size_t plen = strlen(prefix);
        char suffix[700];
        ctl_hash sp;
        int rc = CTL_EXIT_OK;

        if (read_spend(ctx, currency, &sp))
                return CTL_EXIT_RUNTIME;
        for (size_t i = 0; i < sp.cnt && rc == CTL_EXIT_OK; i++) {
                const char *name = sp.field[i] + plen;
                int64_t spend, counts[4];
                if (strncmp(sp.field[i], prefix, plen) != 0)
                        continue;
                spend = num("spend", sp.field[i], sp.value[i]);
                for (int s = 0; s < 4 && rc == CTL_EXIT_OK; s++) {
                        if (ctx->opt.month) {
                                snprintf(suffix, sizeof(suffix),
                                         "monthly:%s:%s:%s", cost_stages[s],
                                         dim, ctx->opt.month);
                                rc = ctl_read_counts(ctx, suffix, &name, 1,
                                                     &counts[s]);
                        } else {
                                snprintf(suffix, sizeof(suffix),
                                         "daily:%s:%s:%s", cost_stages[s], dim,
                                         name);
                                rc = sum_hash(ctx, suffix, &counts[s]);
                        }
                }
                if (rc != CTL_EXIT_OK)
                        break;
                ctl_row(costs);
                ctl_set_str(costs, CO_CUR, currency);
                ctl_set_str(costs, CO_PERIOD,
                            ctx->opt.month ? ctx->opt.month : "all");
                ctl_set_str(costs, CO_NAME, name);
                ctl_set_int(costs, CO_SPEND, spend);
                for (int s = 0; s < 4; s++) {
                        ctl_set_int(costs, CO_LEADS + s, counts[s]);
                        ctl_set_ratio(costs, CO_CPL + s, spend, counts[s], 2);
                }
        }
        ctl_hash_free(&sp);
        return rc;
}

int ctl_channels_run(ctl_ctx *ctx)
{
        rev_list list = {0};
        cur_list spent = {0};
        int campaign = ctx->opt.by && !strcmp(ctx->opt.by, "campaign");
        ctl_table *rows, *totals, *costs;
        int rc;

        if ((rc = ctl_check_tenant(ctx)) != CTL_EXIT_OK)
                return rc;
        if ((rc = scan_keys(ctx, "revenue:", consider, &list)) != CTL_EXIT_OK ||
            (rc = scan_keys(ctx, "spend:", consider_spend, &spent)) !=
                    CTL_EXIT_OK)
                goto done;
        if (list.cnt) /* keys is NULL when none */
                qsort(list.keys, list.cnt, sizeof(*list.keys), cmp_key);
        rows = ctl_doc_table(ctx->doc, campaign ? "campaigns" : "channels",
                             campaign ? campaign_cols : channel_cols, CH__CNT);
        totals = ctl_doc_table(ctx->doc, "totals", total_cols, TO__CNT);
        costs = ctl_doc_table(ctx->doc, campaign ? "campaign_costs" : "costs",
                              campaign ? campaign_cost_cols : channel_cost_cols,
                              CO__CNT);
        for (size_t i = 0; i < list.cnt; i++)
                if ((rc = add_hash(ctx, &list.keys[i], rows, totals)))
                        goto done;
        qsort(spent.cur, spent.cnt, sizeof(spent.cur[0]), cmp_cur);
        for (size_t i = 0; i < spent.cnt; i++)
                if ((rc = add_costs(ctx, spent.cur[i], costs)))
                        goto done;
        if (!list.cnt)
                ctl_doc_note(ctx->doc,
                             "no closed-won revenue recorded for tenant %s%s%s"
                             "%s%s",
                             ctx->opt.tenant, ctx->opt.month ? " in " : "",
                             ctx->opt.month ? ctx->opt.month : "",
                             ctx->opt.currency ? " in " : "",
                             ctx->opt.currency ? ctx->opt.currency : "");
        ctl_doc_note(ctx->doc, "amounts are integer minor units (cents) of "
                               "the currency; share = revenue / total");
        if (campaign)
                ctl_doc_note(ctx->doc,
                             "campaign credits add up to the total only "
                             "when every touch had a campaign");
        if (!spent.cnt)
                ctl_doc_note(ctx->doc,
                             "no spend recorded for tenant %s%s%s: cost, "
                             "ROAS and ROI need SpendEvents on the spend "
                             "topic",
                             ctx->opt.tenant, ctx->opt.month ? " in " : "",
                             ctx->opt.month ? ctx->opt.month : "");
        else
                ctl_doc_note(ctx->doc,
                             "roas = revenue / spend, roi = (revenue - "
                             "spend) / spend, per model; costs: spend "
                             "divided by the stage entries of the leads the "
                             "%s sourced in the period",
                             campaign ? "campaign" : "channel");
done:
        free(list.keys);
        return rc;
}
