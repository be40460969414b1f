/* funnelctl sourcing — marketing-sourced and influenced customers and
 * revenue per month (P:{T}:sourcing:M), and the lead, MQL and SQL entries
 * per persona (P:{T}:monthly:<stage>:persona:M). */
#include "ctl_cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRC_MAX_MONTHS     120
#define SRC_DEFAULT_MONTHS 3
#define SRC_MAX_CURRENCIES 64
#define SRC_CUR_LEN        16 /* ISO 4217 codes are 3; room for more */

enum {
        SC_MONTH,
        SC_CUSTOMERS,
        SC_SOURCED,
        SC_SOURCED_SHARE,
        SC_INFLUENCED,
        SC_INFLUENCED_SHARE,
        SC__CNT
};

static const ctl_col sourcing_cols[SC__CNT] = {
        {"month", CTL_STR, NULL},      {"customers", CTL_INT, NULL},
        {"sourced", CTL_INT, NULL},    {"sourced_share", CTL_REAL, NULL},
        {"influenced", CTL_INT, NULL}, {"influenced_share", CTL_REAL, NULL},
};

enum {
        SR_MONTH,
        SR_CUR,
        SR_REVENUE,
        SR_SOURCED,
        SR_SOURCED_SHARE,
        SR_INFLUENCED,
        SR_INFLUENCED_SHARE,
        SR__CNT
};

static const ctl_col revenue_cols[SR__CNT] = {
        {"month", CTL_STR, NULL},
        {"currency", CTL_STR, NULL},
        {"revenue_minor", CTL_INT, NULL},
        {"sourced_revenue_minor", CTL_INT, NULL},
        {"sourced_revenue_share", CTL_REAL, NULL},
        {"influenced_revenue_minor", CTL_INT, NULL},
        {"influenced_revenue_share", CTL_REAL, NULL},
};

/* The persona counters read, in column order. */
enum { PS_LEAD, PS_MQL, PS_SQL, PS__CNT };
static const char *const persona_stages[PS__CNT] = {"lead", "mql", "sql"};

enum {
        PC_MONTH,
        PC_PERSONA,
        PC_LEAD,
        PC_MQL,
        PC_SQL,
        PC_LEAD_TO_MQL,
        PC_MQL_TO_SQL,
        PC__CNT
};

static const ctl_col persona_cols[PC__CNT] = {
        {"month", CTL_STR, NULL},       {"persona", CTL_STR, NULL},
        {"lead", CTL_INT, NULL},        {"mql", CTL_INT, NULL},
        {"sql", CTL_INT, NULL},         {"lead_to_mql", CTL_REAL, NULL},
        {"mql_to_sql", CTL_REAL, NULL},
};

/* The revenue fields of a sourcing hash, per currency: <kind>:<CUR>. */
enum { RK_REVENUE, RK_SOURCED, RK_INFLUENCED, RK__CNT };
static const char *const revenue_kinds[RK__CNT] = {
        "revenue:", "sourced_revenue:", "influenced_revenue:"};

typedef struct month_row {
        int64_t customers, sourced, influenced;
        int64_t revenue[SRC_MAX_CURRENCIES][RK__CNT];
} month_row;

int ctl_sourcing_check(ctl_ctx *ctx)
{
        const ctl_opts *o = &ctx->opt;
        if (!o->tenant)
                return ctl_usage(ctx, "sourcing needs --tenant T");
        if (o->model || o->currency || o->by || o->days || o->until || o->date)
                return ctl_usage(ctx, "sourcing takes --month or --from/--to "
                                      "only (no --model, --currency, --by, "
                                      "--days, --until or --date)");
        return ctl_check_period(ctx, SRC_DEFAULT_MONTHS, SRC_MAX_MONTHS);
}

/* Index of currency cur in curs (added when new), or -1 when it is not a
 * plausible code or there are too many. */
static int currency_slot(char (*curs)[SRC_CUR_LEN], int *cur_cnt,
                         const char *cur)
{
        if (!*cur || strlen(cur) >= SRC_CUR_LEN)
                return -1;
        for (int i = 0; i < *cur_cnt; i++)
                if (!strcmp(curs[i], cur))
                        return i;
        if (*cur_cnt == SRC_MAX_CURRENCIES)
                return -1;
        snprintf(curs[*cur_cnt], SRC_CUR_LEN, "%s", cur);
        return (*cur_cnt)++;
}

/* The counter of row that field f names, or NULL for a field not shown. */
static int64_t *field_slot(month_row *row, const char *f,
                           char (*curs)[SRC_CUR_LEN], int *cur_cnt,
                           const char *key)
{
        if (!strcmp(f, "customers"))
                return &row->customers;
        if (!strcmp(f, "sourced"))
                return &row->sourced;
        if (!strcmp(f, "influenced"))
                return &row->influenced;
        for (int k = 0; k < RK__CNT; k++) {
                size_t len = strlen(revenue_kinds[k]);
                int slot;
                if (strncmp(f, revenue_kinds[k], len) != 0)
                        continue;
                slot = currency_slot(curs, cur_cnt, f + len);
                if (slot < 0) {
                        fprintf(stderr,
                                "funnelctl: warning: %s field %s left out "
                                "(not a currency code, or more than %d "
                                "currencies)\n",
                                key, f, SRC_MAX_CURRENCIES);
                        return NULL;
                }
                return &row->revenue[slot][k];
        }
        return NULL; /* a later addition: not shown */
}

/* Reads P:{T}:sourcing:<month> into row, registering its currencies. */
static int read_sourcing(ctl_ctx *ctx, const char *month, month_row *row,
                         char (*curs)[SRC_CUR_LEN], int *cur_cnt)
{
        char suffix[64], key[512];
        ctl_hash h;
        snprintf(suffix, sizeof(suffix), "sourcing:%s", month);
        if (ctl_tenant_key(ctx, key, sizeof(key), suffix) ||
            ctl_redis_hgetall(&ctx->redis, key, &h, ctx->errstr,
                              sizeof(ctx->errstr)))
                return CTL_EXIT_RUNTIME;
        for (size_t i = 0; i < h.cnt; i++) {
                int64_t *dst = field_slot(row, h.field[i], curs, cur_cnt, key);
                if (dst && ctl_parse_i64(h.value[i], dst))
                        fprintf(stderr,
                                "funnelctl: warning: %s field %s holds '%s', "
                                "not a count; shown as 0\n",
                                key, h.field[i], h.value[i]);
        }
        ctl_hash_free(&h);
        return CTL_EXIT_OK;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_cur(const void *a, const void *b)
{
        return strcmp(a, b);
}

/* The count of persona p in h (0 when absent or not a count). */
static int64_t persona_count(const ctl_hash *h, const char *p)
{
        int64_t v;
        return ctl_parse_i64(ctl_hash_get(h, p), &v) ? 0 : v;
}

/* Adds month's rows to table "personas": one per persona that has an
 * entry in P:{T}:monthly:<lead|mql|sql>:persona:<month>, by name. */
static int add_personas(ctl_ctx *ctx, const char *month, ctl_table *t)
{
        ctl_hash h[PS__CNT] = {{0}};
        const char **names = NULL;
        size_t cnt = 0, cap = 0;
        int rc = CTL_EXIT_RUNTIME;

        for (int s = 0; s < PS__CNT; s++) {
                char suffix[64], key[512];
                snprintf(suffix, sizeof(suffix), "monthly:%s:persona:%s",
                         persona_stages[s], month);
                if (ctl_tenant_key(ctx, key, sizeof(key), suffix) ||
                    ctl_redis_hgetall(&ctx->redis, key, &h[s], ctx->errstr,
                                      sizeof(ctx->errstr)))
                        goto done;
                cap += h[s].cnt;
        }
        if (!(names = calloc(cap + 1, sizeof(*names)))) {
                snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory");
                goto done;
        }
        for (int s = 0; s < PS__CNT; s++)
                for (size_t i = 0; i < h[s].cnt; i++)
                        names[cnt++] = h[s].field[i];
        qsort(names, cnt, sizeof(*names), cmp_str);
        for (size_t i = 0; i < cnt; i++) {
                int64_t n[PS__CNT];
                if (i > 0 && !strcmp(names[i], names[i - 1]))
                        continue; /* in several stages' hashes */
                for (int s = 0; s < PS__CNT; s++)
                        n[s] = persona_count(&h[s], names[i]);
                ctl_row(t);
                ctl_set_str(t, PC_MONTH, month);
                ctl_set_str(t, PC_PERSONA, names[i]);
                ctl_set_int(t, PC_LEAD, n[PS_LEAD]);
                ctl_set_int(t, PC_MQL, n[PS_MQL]);
                ctl_set_int(t, PC_SQL, n[PS_SQL]);
                ctl_set_ratio(t, PC_LEAD_TO_MQL, n[PS_MQL], n[PS_LEAD], 4);
                ctl_set_ratio(t, PC_MQL_TO_SQL, n[PS_SQL], n[PS_MQL], 4);
        }
        rc = CTL_EXIT_OK;
done:
        free(names);
        for (int s = 0; s < PS__CNT; s++)
                ctl_hash_free(&h[s]);
        return rc;
}

/* Table "sourcing_revenue": per month every currency seen in the period,
 * sorted by code. */
static void add_revenue(ctl_ctx *ctx, const month_row *rows, int cnt,
                        char (*curs)[SRC_CUR_LEN], int cur_cnt)
{
        char sorted[SRC_MAX_CURRENCIES][SRC_CUR_LEN];
        int order[SRC_MAX_CURRENCIES];
        ctl_table *t;

        memcpy(sorted, curs, sizeof(sorted[0]) * (size_t)cur_cnt);
        qsort(sorted, (size_t)cur_cnt, sizeof(sorted[0]), cmp_cur);
        for (int c = 0; c < cur_cnt; c++)
                order[c] = currency_slot(curs, &cur_cnt, sorted[c]);
        t = ctl_doc_table(ctx->doc, "sourcing_revenue", revenue_cols, SR__CNT);
        for (int i = 0; i < cnt; i++) {
                char month[8];
                ctl_month_format(ctl_month_add(ctx->first, i), month,
                                 sizeof(month));
                for (int c = 0; c < cur_cnt; c++) {
                        const int64_t *v = rows[i].revenue[order[c]];
                        ctl_row(t);
                        ctl_set_str(t, SR_MONTH, month);
                        ctl_set_str(t, SR_CUR, curs[order[c]]);
                        ctl_set_int(t, SR_REVENUE, v[RK_REVENUE]);
                        ctl_set_int(t, SR_SOURCED, v[RK_SOURCED]);
                        ctl_set_ratio(t, SR_SOURCED_SHARE, v[RK_SOURCED],
                                      v[RK_REVENUE], 4);
                        ctl_set_int(t, SR_INFLUENCED, v[RK_INFLUENCED]);
                        ctl_set_ratio(t, SR_INFLUENCED_SHARE, v[RK_INFLUENCED],
                                      v[RK_REVENUE], 4);
                }
        }
}

int ctl_sourcing_run(ctl_ctx *ctx)
{
        int cnt = ctl_month_diff(ctx->first, ctx->last) + 1, cur_cnt = 0, rc;
        char curs[SRC_MAX_CURRENCIES][SRC_CUR_LEN];
        month_row *rows;
        ctl_table *t;

        if (cnt < 1 || cnt > SRC_MAX_MONTHS)
                return ctl_usage(ctx, "the period must be 1 to 120 months; "
                                      "check --from/--to");
        if ((rc = ctl_check_tenant(ctx)) != CTL_EXIT_OK)
                return rc;
        if (!(rows = calloc((size_t)cnt, sizeof(*rows)))) {
                snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory");
                return CTL_EXIT_RUNTIME;
        }
        t = ctl_doc_table(ctx->doc, "sourcing", sourcing_cols, SC__CNT);
        for (int i = 0; i < cnt; i++) {
                char month[8];
                ctl_month_format(ctl_month_add(ctx->first, i), month,
                                 sizeof(month));
                if ((rc = read_sourcing(ctx, month, &rows[i], curs, &cur_cnt)))
                        goto done;
                ctl_row(t);
                ctl_set_str(t, SC_MONTH, month);
                ctl_set_int(t, SC_CUSTOMERS, rows[i].customers);
                ctl_set_int(t, SC_SOURCED, rows[i].sourced);
                ctl_set_ratio(t, SC_SOURCED_SHARE, rows[i].sourced,
                              rows[i].customers, 4);
                ctl_set_int(t, SC_INFLUENCED, rows[i].influenced);
                ctl_set_ratio(t, SC_INFLUENCED_SHARE, rows[i].influenced,
                              rows[i].customers, 4);
        }
        add_revenue(ctx, rows, cnt, curs, cur_cnt);
        t = ctl_doc_table(ctx->doc, "personas", persona_cols, PC__CNT);
        for (int i = 0; i < cnt; i++) {
                char month[8];
                ctl_month_format(ctl_month_add(ctx->first, i), month,
                                 sizeof(month));
                if ((rc = add_personas(ctx, month, t)))
                        goto done;
        }
        ctl_doc_note(ctx->doc,
                     "customers are the deals won in the month; a deal is "
                     "marketing-sourced when the first touch of its journey "
                     "in the lookback window is on a marketing channel, "
                     "influenced when any touch is (attribution."
                     "non_marketing_channels, default direct,unknown); "
                     "*_share = count / customers (null when 0)");
        ctl_doc_note(ctx->doc,
                     "sourcing_revenue: won amounts in minor units, one row "
                     "per month and currency seen in the period; *_share = "
                     "amount / revenue_minor (null when 0)");
        ctl_doc_note(ctx->doc,
                     "personas: stage entries in the month of the leads "
                     "whose latest persona attribute is the persona (leads "
                     "without one are not counted); conversion compares "
                     "entries of the same month, not the same leads");
        rc = CTL_EXIT_OK;
done:
        free(rows);
        return rc;
}
