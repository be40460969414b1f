/* funnelctl report — the funnel per month from P:{T}:monthly:<stage>. */
#include "ctl_cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MONTHS 120

static const char *const stages[] = {
        "lead", "mql", "sql", "opportunity", "closed_won", "closed_lost"};
#define STAGE_CNT (sizeof(stages) / sizeof(stages[0]))

/* The stage whose entries are the denominator of a stage's next-step
 * conversion, or -1 (lead, closed_lost). */
static const int step_from[STAGE_CNT] = {-1, 0, 1, 2, 3, -1};

enum {
        C_MONTH,
        C_STAGE,
        C_ENTRIES,
        C_MOM,
        C_MOM_PCT,
        C_STEP,
        C_CUM,
        C_BDAYS,
        C_PER_BDAY,
        C_PBD_MOM,
        C_PBD_MOM_PCT,
        C__CNT
};

static const ctl_col report_cols[C__CNT] = {
        {"month", CTL_STR, NULL},
        {"stage", CTL_STR, NULL},
        {"entries", CTL_INT, NULL},
        {"mom_change", CTL_INT, NULL},
        {"mom_change_ratio", CTL_REAL, NULL},
        {"step_conversion", CTL_REAL, NULL},
        {"cumulative_conversion", CTL_REAL, NULL},
        {"business_days", CTL_INT, NULL},
        {"per_business_day", CTL_REAL, NULL},
        {"per_business_day_mom_change", CTL_REAL, NULL},
        {"per_business_day_mom_change_ratio", CTL_REAL, NULL},
};

int ctl_report_check(ctl_ctx *ctx)
{
        const ctl_opts *o = &ctx->opt;
        if (!o->tenant)
                return ctl_usage(ctx, "report needs --tenant T");
        return ctl_check_period(ctx, 3, MAX_MONTHS);
}

/* Reads monthly:<stage> for months first-1 .. last into counts (cnt
 * entries). */
static int read_stage(ctl_ctx *ctx, const char *stage, int64_t *counts, int cnt)
{
        char suffix[64], months[MAX_MONTHS + 1][8];
        const char *fields[MAX_MONTHS + 1];
        snprintf(suffix, sizeof(suffix), "monthly:%s", stage);
        for (int i = 0; i < cnt; i++) {
                ctl_month_format(ctl_month_add(ctx->first, i - 1), months[i],
                                 sizeof(months[i]));
                fields[i] = months[i];
        }
        return ctl_read_counts(ctx, suffix, fields, cnt, counts);
}

int ctl_report_run(ctl_ctx *ctx)
{
        int64_t counts[STAGE_CNT][MAX_MONTHS + 1];
        int cnt = ctl_month_diff(ctx->first, ctx->last) + 2, rc;
        const fd_calendar *cal =
                &fd_config_tenant(ctx->conf, ctx->opt.tenant)->calendar;
        ctl_month now, next;
        char note[512];
        ctl_table *t;

        if ((rc = ctl_check_tenant(ctx)) != CTL_EXIT_OK)
                return rc;
        for (size_t s = 0; s < STAGE_CNT; s++)
                if ((rc = read_stage(ctx, stages[s], counts[s], cnt)))
                        return rc;
        t = ctl_doc_table(ctx->doc, "funnel", report_cols, C__CNT);
        for (int i = 1; i < cnt; i++) {
                ctl_month m = ctl_month_add(ctx->first, i - 1);
                char month[8];
                int bdays = ctl_business_days(cal, m);
                int prev_bdays = ctl_business_days(cal, ctl_month_add(m, -1));
                ctl_month_format(m, month, sizeof(month));
                for (size_t s = 0; s < STAGE_CNT; s++) {
                        int64_t n = counts[s][i], prev = counts[s][i - 1];
                        double rate = bdays ? (double)n / bdays : 0;
                        double prev_rate =
                                prev_bdays ? (double)prev / prev_bdays : 0;
                        ctl_row(t);
                        ctl_set_str(t, C_MONTH, month);
                        ctl_set_str(t, C_STAGE, stages[s]);
                        ctl_set_int(t, C_ENTRIES, n);
                        ctl_set_int(t, C_MOM, n - prev);
                        ctl_set_ratio(t, C_MOM_PCT, n - prev, prev, 4);
                        if (step_from[s] >= 0)
                                ctl_set_ratio(t, C_STEP, n,
                                              counts[step_from[s]][i], 4);
                        if (s > 0)
                                ctl_set_ratio(t, C_CUM, n, counts[0][i], 4);
                        ctl_set_int(t, C_BDAYS, bdays);
                        ctl_set_ratio(t, C_PER_BDAY, n, bdays, 4);
                        if (bdays > 0 && prev_bdays > 0)
                                ctl_set_real(t, C_PBD_MOM, rate - prev_rate, 4);
                        if (bdays > 0 && prev_bdays > 0 && prev > 0)
                                ctl_set_real(t, C_PBD_MOM_PCT,
                                             (rate - prev_rate) / prev_rate, 4);
                }
        }
        ctl_doc_note(ctx->doc,
                     "entries are stage entries counted in the month the "
                     "lead entered the stage (event time, tenant time zone)");
        ctl_doc_note(ctx->doc,
                     "step_conversion = entries / entries of the previous "
                     "stage (mql/lead, sql/mql, opportunity/sql, "
                     "closed_won/opportunity); cumulative_conversion = "
                     "entries / lead entries of the same month");
        next = ctl_month_add(ctx->last, 1);
        ctl_calendar_note(
                cal, fd_days_from_civil(ctx->first.year, ctx->first.month, 1),
                fd_days_from_civil(next.year, next.month, 1) - 1, note,
                sizeof(note));
        ctl_doc_note(ctx->doc, "%s", note);
        ctl_doc_note(ctx->doc,
                     "per_business_day = entries / business_days; "
                     "per_business_day_mom_change is its change from the "
                     "month before (each month divided by its own business "
                     "days), *_ratio that change relative to the month "
                     "before");
        now = ctl_month_now(ctl_now_tz(ctx));
        if (ctl_month_diff(now, ctx->last) >= 0 &&
            ctl_month_diff(ctx->first, now) >= 0)
                ctl_doc_note(ctx->doc,
                             "the current month is month to date; "
                             "per_business_day divides by all its business "
                             "days");
        return CTL_EXIT_OK;
}
