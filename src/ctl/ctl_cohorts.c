/* funnelctl cohorts — the leads created (or turned MQL) in a month and how
 * far they got later, from P:{T}:cohort:lead:M and P:{T}:cohort:mql:M. */
#include "ctl_cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COHORT_MAX_MONTHS     120
#define COHORT_DEFAULT_MONTHS 6
#define COHORT_MAX_CURRENCIES 64
#define COHORT_CUR_LEN        16 /* ISO 4217 codes are 3; room for more */

/* The counted stages of a cohort hash, in column order. */
enum { K_LEAD, K_MQL, K_SQL, K_OPP, K_WON, K_LOST, K__CNT };
static const char *const fields[K__CNT] = {
        "lead", "mql", "sql", "opportunity", "closed_won", "closed_lost"};

/* Table "cohorts" for lead cohorts: size = lead, then mql .. closed_lost. */
enum {
        L_MONTH,
        L_SIZE,
        L_MQL,
        L_MQL_RATE,
        L_SQL,
        L_SQL_RATE,
        L_OPP,
        L_OPP_RATE,
        L_WON,
        L_WON_RATE,
        L_LOST,
        L__CNT
};

static const ctl_col lead_cols[L__CNT] = {
        {"month", CTL_STR, NULL},       {"size", CTL_INT, NULL},
        {"mql", CTL_INT, NULL},         {"mql_rate", CTL_REAL, NULL},
        {"sql", CTL_INT, NULL},         {"sql_rate", CTL_REAL, NULL},
        {"opportunity", CTL_INT, NULL}, {"opportunity_rate", CTL_REAL, NULL},
        {"closed_won", CTL_INT, NULL},  {"closed_won_rate", CTL_REAL, NULL},
        {"closed_lost", CTL_INT, NULL},
};

/* The same for MQL cohorts (size = mql, so no mql column). */
enum {
        Q_MONTH,
        Q_SIZE,
        Q_SQL,
        Q_SQL_RATE,
        Q_OPP,
        Q_OPP_RATE,
        Q_WON,
        Q_WON_RATE,
        Q_LOST,
        Q__CNT
};

static const ctl_col mql_cols[Q__CNT] = {
        {"month", CTL_STR, NULL},       {"size", CTL_INT, NULL},
        {"sql", CTL_INT, NULL},         {"sql_rate", CTL_REAL, NULL},
        {"opportunity", CTL_INT, NULL}, {"opportunity_rate", CTL_REAL, NULL},
        {"closed_won", CTL_INT, NULL},  {"closed_won_rate", CTL_REAL, NULL},
        {"closed_lost", CTL_INT, NULL},
};

enum { R_MONTH, R_CUR, R_AMOUNT, R_PER_MEMBER, R__CNT };

static const ctl_col revenue_cols[R__CNT] = {
        {"month", CTL_STR, NULL},
        {"currency", CTL_STR, NULL},
        {"amount_minor", CTL_INT, NULL},
        {"per_member_minor", CTL_REAL, NULL},
};

typedef struct cohort_row {
        int64_t n[K__CNT];
        int64_t revenue[COHORT_MAX_CURRENCIES];
} cohort_row;

/* 1 for MQL cohorts, 0 for lead cohorts, -1 for anything else. */
static int by_mql(const ctl_opts *o)
{
        if (!o->by || !strcmp(o->by, "lead"))
                return 0;
        return !strcmp(o->by, "mql") ? 1 : -1;
}

int ctl_cohorts_check(ctl_ctx *ctx)
{
        const ctl_opts *o = &ctx->opt;
        if (!o->tenant)
                return ctl_usage(ctx, "cohorts needs --tenant T");
        if (by_mql(o) < 0) {
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "--by '%s' is not a cohort kind; use --by lead "
                         "(leads created in the month, the default) or "
                         "--by mql (leads that became MQL in the month)",
                         o->by);
                return CTL_EXIT_USAGE;
        }
        if (o->model || o->currency || o->days || o->until)
                return ctl_usage(ctx, "cohorts takes --by, --month or "
                                      "--from/--to only (no --model, "
                                      "--currency, --days or --until)");
        return ctl_check_period(ctx, COHORT_DEFAULT_MONTHS, COHORT_MAX_MONTHS);
}

/* Index of currency cur in curs (added when new), or -1 when there are too
 * many. */
static int currency_slot(char (*curs)[COHORT_CUR_LEN], int *cur_cnt,
                         const char *cur)
{
        for (int i = 0; i < *cur_cnt; i++)
                if (!strcmp(curs[i], cur))
                        return i;
        if (*cur_cnt == COHORT_MAX_CURRENCIES)
                return -1;
        snprintf(curs[*cur_cnt], COHORT_CUR_LEN, "%s", cur);
        return (*cur_cnt)++;
}

/* Reads one cohort hash into row, registering the currencies it has. */
static int read_cohort(ctl_ctx *ctx, const char *key, cohort_row *row,
                       char (*curs)[COHORT_CUR_LEN], int *cur_cnt)
{
        ctl_hash h;
        if (ctl_redis_hgetall(&ctx->redis, key, &h, ctx->errstr,
                              sizeof(ctx->errstr)))
                return CTL_EXIT_RUNTIME;
        for (size_t i = 0; i < h.cnt; i++) {
                const char *f = h.field[i], *v = h.value[i];
                int64_t *dst = NULL;
                if (!strncmp(f, "revenue:", 8)) {
                        const char *cur = f + 8;
                        int slot = -1;
                        if (*cur && strlen(cur) < COHORT_CUR_LEN)
                                slot = currency_slot(curs, cur_cnt, cur);
                        if (slot < 0) {
                                fprintf(stderr,
                                        "funnelctl: warning: %s field %s "
                                        "left out (not a currency code, or "
                                        "more than %d currencies)\n",
                                        key, f, COHORT_MAX_CURRENCIES);
                                continue;
                        }
                        dst = &row->revenue[slot];
                } else {
                        for (int k = 0; k < K__CNT && !dst; k++)
                                if (!strcmp(fields[k], f))
                                        dst = &row->n[k];
                        if (!dst)
                                continue; /* a later addition: not shown */
                }
                if (ctl_parse_i64(v, dst))
                        fprintf(stderr,
                                "funnelctl: warning: %s field %s holds '%s', "
                                "not a count; shown as 0\n",
                                key, f, v);
        }
        ctl_hash_free(&h);
        return CTL_EXIT_OK;
}

static int cmp_cur(const void *a, const void *b)
{
        return strcmp(a, b);
}

/* Columns of a stage in the cohorts table: count, rate (-1: none). */
static void stage_cols(int mql, int k, int *count, int *rate)
{
        static const int lead_map[K__CNT][2] = {{-1, -1},
                                                {L_MQL, L_MQL_RATE},
                                                {L_SQL, L_SQL_RATE},
                                                {L_OPP, L_OPP_RATE},
                                                {L_WON, L_WON_RATE},
                                                {L_LOST, -1}};
        static const int mql_map[K__CNT][2] = {{-1, -1},
                                               {-1, -1},
                                               {Q_SQL, Q_SQL_RATE},
                                               {Q_OPP, Q_OPP_RATE},
                                               {Q_WON, Q_WON_RATE},
                                               {Q_LOST, -1}};
        const int(*map)[2] = mql ? mql_map : lead_map;
        *count = map[k][0];
        *rate = map[k][1];
}

int ctl_cohorts_run(ctl_ctx *ctx)
{
        const int mql = by_mql(&ctx->opt) == 1;
        const int size_k = mql ? K_MQL : K_LEAD;
        const char *kind = mql ? "mql" : "lead";
        int cnt = ctl_month_diff(ctx->first, ctx->last) + 1, cur_cnt = 0, rc;
        char curs[COHORT_MAX_CURRENCIES][COHORT_CUR_LEN];
        int order[COHORT_MAX_CURRENCIES];
        cohort_row *rows;
        ctl_table *t;
        ctl_month now;

        if (cnt < 1 || cnt > COHORT_MAX_MONTHS)
                return ctl_usage(ctx, "the period must be 1 to 120 months; "
                                      "check --from/--to");
        if ((rc = ctl_check_tenant(ctx)) != CTL_EXIT_OK)
                return rc;
        if (!(rows = calloc((size_t)cnt, sizeof(*rows)))) {
                snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory");
                return CTL_EXIT_RUNTIME;
        }
        for (int i = 0; i < cnt; i++) {
                char month[8], suffix[64], key[512];
                ctl_month_format(ctl_month_add(ctx->first, i), month,
                                 sizeof(month));
                snprintf(suffix, sizeof(suffix), "cohort:%s:%s", kind, month);
                if (ctl_tenant_key(ctx, key, sizeof(key), suffix)) {
                        rc = CTL_EXIT_RUNTIME;
                        goto done;
                }
                if ((rc = read_cohort(ctx, key, &rows[i], curs, &cur_cnt)))
                        goto done;
        }

        t = ctl_doc_table(ctx->doc, "cohorts", mql ? mql_cols : lead_cols,
                          mql ? Q__CNT : L__CNT);
        for (int i = 0; i < cnt; i++) {
                char month[8];
                int64_t size = rows[i].n[size_k];
                ctl_month_format(ctl_month_add(ctx->first, i), month,
                                 sizeof(month));
                ctl_row(t);
                ctl_set_str(t, L_MONTH, month);
                ctl_set_int(t, L_SIZE, size);
                for (int k = size_k + 1; k < K__CNT; k++) {
                        int count, rate;
                        stage_cols(mql, k, &count, &rate);
                        ctl_set_int(t, (size_t)count, rows[i].n[k]);
                        if (rate >= 0)
                                ctl_set_ratio(t, (size_t)rate, rows[i].n[k],
                                              size, 4);
                }
        }

        /* revenue: per month every currency seen in the period, by code */
        {
                char sorted[COHORT_MAX_CURRENCIES][COHORT_CUR_LEN];
                memcpy(sorted, curs, sizeof(sorted[0]) * (size_t)cur_cnt);
                qsort(sorted, (size_t)cur_cnt, sizeof(sorted[0]), cmp_cur);
                for (int c = 0; c < cur_cnt; c++)
                        order[c] = currency_slot(curs, &cur_cnt, sorted[c]);
        }
        t = ctl_doc_table(ctx->doc, "revenue", revenue_cols, R__CNT);
        for (int i = 0; i < cnt; i++) {
                char month[8];
                ctl_month_format(ctl_month_add(ctx->first, i), month,
                                 sizeof(month));
                for (int c = 0; c < cur_cnt; c++) {
                        int64_t amount = rows[i].revenue[order[c]];
                        ctl_row(t);
                        ctl_set_str(t, R_MONTH, month);
                        ctl_set_str(t, R_CUR, curs[order[c]]);
                        ctl_set_int(t, R_AMOUNT, amount);
                        ctl_set_ratio(t, R_PER_MEMBER, amount,
                                      rows[i].n[size_k], 2);
                }
        }

        if (mql)
                ctl_doc_note(ctx->doc,
                             "an MQL cohort is the leads whose MQL entry (in "
                             "their current lifecycle cycle) fell in the "
                             "month (tenant time zone); size = those MQLs");
        else
                ctl_doc_note(ctx->doc,
                             "a lead cohort is the leads created in the month "
                             "(created_at, tenant time zone); size = those "
                             "leads");
        ctl_doc_note(ctx->doc,
                     "stage counts are the cohort's stage entries whenever "
                     "they happened, also in later months; *_rate = count / "
                     "size (null when size is 0). Younger cohorts have had "
                     "less time to convert, so their rates still grow");
        ctl_doc_note(ctx->doc,
                     "revenue: closed-won amounts of the cohort's leads in "
                     "minor units, per currency (one row per month and "
                     "currency seen in the period); per_member_minor = "
                     "amount_minor / size");
        now = ctl_month_now(ctl_now_tz(ctx));
        if (ctl_month_diff(now, ctx->last) >= 0 &&
            ctl_month_diff(ctx->first, now) >= 0)
                ctl_doc_note(ctx->doc, "the current month's cohort is still "
                                       "filling (month to date)");
        rc = CTL_EXIT_OK;
done:
        free(rows);
        return rc;
}
