/* funnelctl channels — attributed revenue per channel (or campaign) and
 * model from P:{T}:revenue:<model>:<CUR>[:M]. */
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

enum { CH_MODEL, CH_CUR, CH_PERIOD, CH_NAME, CH_REVENUE, CH_SHARE, CH__CNT };

static const ctl_col channel_cols[CH__CNT] = {
        {"model", CTL_STR, NULL},         {"currency", CTL_STR, NULL},
        {"period", CTL_STR, NULL},        {"channel", CTL_STR, NULL},
        {"revenue_minor", CTL_INT, NULL}, {"share", CTL_REAL, NULL},
};

static const ctl_col campaign_cols[CH__CNT] = {
        {"model", CTL_STR, NULL},         {"currency", CTL_STR, NULL},
        {"period", CTL_STR, NULL},        {"campaign", CTL_STR, NULL},
        {"revenue_minor", CTL_INT, NULL}, {"share", CTL_REAL, NULL},
};

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
                       "full_path, time_decay, j_shaped or inverse_j";
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

/* Keeps key when it names a revenue hash that the options select. */
static int consider(ctl_ctx *ctx, rev_list *list, const char *key,
                    size_t base_len)
{
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

/* SCANs P:{T}:revenue:* (one slot thanks to the hash tag). */
static int scan_keys(ctl_ctx *ctx, rev_list *list)
{
        char base[512], pattern[1100], esc[1024];
        char cursor[32] = "0";
        if (ctl_tenant_key(ctx, base, sizeof(base), "revenue:"))
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
                        if (consider(ctx, list, keys->element[i]->str,
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

/* Adds the rows of one revenue hash. */
static int add_hash(ctl_ctx *ctx, const rev_key *k, ctl_table *rows,
                    ctl_table *totals)
{
        const char *prefix = ctx->opt.by && !strcmp(ctx->opt.by, "campaign")
                                     ? "campaign:"
                                     : "channel:";
        const char *model = fd_model_name((fd_model)k->model);
        const char *period = ctx->opt.month ? ctx->opt.month : "all";
        size_t plen = strlen(prefix), n = 0;
        int64_t total, attributed = 0;
        credit *credits;
        ctl_hash h;

        if (ctl_redis_hgetall(&ctx->redis, k->key, &h, ctx->errstr,
                              sizeof(ctx->errstr)))
                return CTL_EXIT_RUNTIME;
        credits = calloc(h.cnt + 1, sizeof(*credits));
        if (!credits) {
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
        return CTL_EXIT_OK;
}

int ctl_channels_run(ctl_ctx *ctx)
{
        rev_list list = {0};
        int campaign = ctx->opt.by && !strcmp(ctx->opt.by, "campaign");
        ctl_table *rows, *totals;
        int rc;

        if ((rc = ctl_check_tenant(ctx)) != CTL_EXIT_OK)
                return rc;
        if ((rc = scan_keys(ctx, &list)) != CTL_EXIT_OK)
                goto done;
        if (list.cnt) /* keys is NULL when none */
                qsort(list.keys, list.cnt, sizeof(*list.keys), cmp_key);
        rows = ctl_doc_table(ctx->doc, campaign ? "campaigns" : "channels",
                             campaign ? campaign_cols : channel_cols, CH__CNT);
        totals = ctl_doc_table(ctx->doc, "totals", total_cols, TO__CNT);
        for (size_t i = 0; i < list.cnt; i++)
                if ((rc = add_hash(ctx, &list.keys[i], rows, totals)))
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
        ctl_doc_note(ctx->doc,
                     "cost and ROI per channel are not shown: funneld does "
                     "not store spend in Redis yet");
done:
        free(list.keys);
        return rc;
}
