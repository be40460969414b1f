/* funnelctl trend — daily MQL and SQL entries from P:{T}:daily:<stage>, with
 * the business-day view (weekends flagged, per-business-day averages). */
#include "ctl_cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "funneld/timebucket.h"

#define TREND_MAX_DAYS     366
#define TREND_DEFAULT_DAYS 30

static const char *const trend_stages[] = {"mql", "sql"};
#define TREND_STAGE_CNT 2

enum { D_DATE, D_WEEKDAY, D_BDAY, D_MQL, D_SQL, D__CNT };

static const ctl_col day_cols[D__CNT] = {
        {"date", CTL_STR, NULL},          {"weekday", CTL_STR, NULL},
        {"business_day", CTL_BOOL, NULL}, {"mql", CTL_INT, NULL},
        {"sql", CTL_INT, NULL},
};

enum {
        S_FROM,
        S_TO,
        S_DAYS,
        S_BDAYS,
        S_MQL,
        S_SQL,
        S_MQL_BDAY,
        S_SQL_BDAY,
        S_SQL_PER_MQL,
        S__CNT
};

static const ctl_col sum_cols[S__CNT] = {
        {"from", CTL_STR, NULL},
        {"to", CTL_STR, NULL},
        {"days", CTL_INT, NULL},
        {"business_days", CTL_INT, NULL},
        {"mql", CTL_INT, NULL},
        {"sql", CTL_INT, NULL},
        {"mql_per_business_day", CTL_REAL, NULL},
        {"sql_per_business_day", CTL_REAL, NULL},
        {"sql_per_mql", CTL_REAL, NULL},
};

static const char *const weekday_names[7] = {"Sun", "Mon", "Tue", "Wed",
                                             "Thu", "Fri", "Sat"};

static int day_count(const ctl_opts *o, int *n)
{
        char *end;
        long v;
        *n = TREND_DEFAULT_DAYS;
        if (!o->days)
                return 0;
        v = strtol(o->days, &end, 10);
        if (!*o->days || *end || v < 1 || v > TREND_MAX_DAYS)
                return -1;
        *n = (int)v;
        return 0;
}

int ctl_trend_check(ctl_ctx *ctx)
{
        const ctl_opts *o = &ctx->opt;
        int64_t day;
        int n;
        if (!o->tenant)
                return ctl_usage(ctx, "trend needs --tenant T");
        if (o->month || o->from || o->to)
                return ctl_usage(ctx, "trend takes --days N and --until "
                                      "YYYY-MM-DD, not --month/--from/--to");
        if (day_count(o, &n))
                return ctl_usage(ctx, "--days must be a whole number of days "
                                      "from 1 to 366 (default 30)");
        if (o->until && ctl_day_parse(o->until, &day))
                return ctl_usage(ctx, "--until is not a date; write it as "
                                      "YYYY-MM-DD (e.g. 2026-11-26)");
        return CTL_EXIT_OK;
}

/* HMGET daily:<stage> for the dates into counts. */
static int read_days(ctl_ctx *ctx, const char *stage, char (*dates)[16],
                     int cnt, int64_t *counts)
{
        char suffix[64];
        const char *fields[TREND_MAX_DAYS];
        snprintf(suffix, sizeof(suffix), "daily:%s", stage);
        for (int i = 0; i < cnt; i++)
                fields[i] = dates[i];
        return ctl_read_counts(ctx, suffix, fields, cnt, counts);
}

int ctl_trend_run(ctl_ctx *ctx)
{
        char dates[TREND_MAX_DAYS][16];
        int64_t counts[TREND_STAGE_CNT][TREND_MAX_DAYS];
        int wday[TREND_MAX_DAYS];
        int64_t last, total[TREND_STAGE_CNT] = {0};
        const fd_calendar *cal =
                &fd_config_tenant(ctx->conf, ctx->opt.tenant)->calendar;
        int n, bdays = 0, rc;
        char note[512];
        ctl_table *t;

        if (day_count(&ctx->opt, &n))
                return ctl_usage(ctx, "--days must be a whole number of days "
                                      "from 1 to 366 (default 30)");
        if (ctx->opt.until) {
                if (ctl_day_parse(ctx->opt.until, &last))
                        return ctl_usage(ctx, "--until is not a date; write it "
                                              "as YYYY-MM-DD");
        } else {
                last = ctl_today(ctl_now_tz(ctx));
        }
        if ((rc = ctl_check_tenant(ctx)) != CTL_EXIT_OK)
                return rc;
        for (int i = 0; i < n; i++)
                wday[i] = ctl_day_format(last - (n - 1) + i, dates[i],
                                         sizeof(dates[i]));
        for (int s = 0; s < TREND_STAGE_CNT; s++)
                if ((rc = read_days(ctx, trend_stages[s], dates, n, counts[s])))
                        return rc;
        t = ctl_doc_table(ctx->doc, "trend", day_cols, D__CNT);
        for (int i = 0; i < n; i++) {
                int bday = fd_is_business_day(cal, last - (n - 1) + i);
                bdays += bday;
                ctl_row(t);
                ctl_set_str(t, D_DATE, dates[i]);
                ctl_set_str(t, D_WEEKDAY, weekday_names[wday[i]]);
                ctl_set_bool(t, D_BDAY, bday);
                ctl_set_int(t, D_MQL, counts[0][i]);
                ctl_set_int(t, D_SQL, counts[1][i]);
                total[0] += counts[0][i];
                total[1] += counts[1][i];
        }
        t = ctl_doc_table(ctx->doc, "summary", sum_cols, S__CNT);
        ctl_row(t);
        ctl_set_str(t, S_FROM, dates[0]);
        ctl_set_str(t, S_TO, dates[n - 1]);
        ctl_set_int(t, S_DAYS, n);
        ctl_set_int(t, S_BDAYS, bdays);
        ctl_set_int(t, S_MQL, total[0]);
        ctl_set_int(t, S_SQL, total[1]);
        ctl_set_ratio(t, S_MQL_BDAY, total[0], bdays, 4);
        ctl_set_ratio(t, S_SQL_BDAY, total[1], bdays, 4);
        ctl_set_ratio(t, S_SQL_PER_MQL, total[1], total[0], 4);
        ctl_doc_note(ctx->doc,
                     "entries are counted on the day the lead entered the "
                     "stage (event time, tenant time zone)");
        ctl_calendar_note(cal, last - (n - 1), last, note, sizeof(note));
        ctl_doc_note(ctx->doc, "%s", note);
        ctl_doc_note(ctx->doc,
                     "*_per_business_day divides all entries of the period "
                     "(weekends and holidays included) by its business "
                     "days, like report's per_business_day");
        return CTL_EXIT_OK;
}
