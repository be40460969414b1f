/* funnelctl pacing — the tenant's revenue goal (goal.*) as a reverse
 * funnel (wins, SQLs, MQLs, leads needed per period) and the pacing of the
 * period containing a date: required to date by elapsed business days
 * against the actual entries of P:{T}:monthly:<stage> and the won revenue
 * of P:{T}:revenue:<model>:<CUR>:<M>. */
#include "ctl_cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "funneld/attribution.h"
#include "funneld/timebucket.h"

#define PACE_MAX_MONTHS 12

enum {
        G_PERIOD,
        G_START,
        G_END,
        G_DATE,
        G_TARGET,
        G_CUR,
        G_DEAL,
        G_SQL_WON,
        G_MQL_SQL,
        G_LEAD_MQL,
        G_BDAYS,
        G_ELAPSED,
        G_REMAINING,
        G__CNT
};

static const ctl_col goal_cols[G__CNT] = {
        {"period", CTL_STR, NULL},
        {"start", CTL_STR, NULL},
        {"end", CTL_STR, NULL},
        {"date", CTL_STR, NULL},
        {"target_minor", CTL_INT, NULL},
        {"currency", CTL_STR, NULL},
        {"deal_size_minor", CTL_INT, NULL},
        {"sql_to_won_pct", CTL_INT, NULL},
        {"mql_to_sql_pct", CTL_INT, NULL},
        {"lead_to_mql_pct", CTL_INT, NULL},
        {"business_days", CTL_INT, NULL},
        {"business_days_elapsed", CTL_INT, NULL},
        {"business_days_remaining", CTL_INT, NULL},
};

enum {
        P_STAGE,
        P_REQ,
        P_REQ_TO_DATE,
        P_ACTUAL,
        P_PACE,
        P_GAP,
        P_PER_BDAY,
        P__CNT
};

static const ctl_col pacing_cols[P__CNT] = {
        {"stage", CTL_STR, NULL},
        {"required_period", CTL_INT, NULL},
        {"required_to_date", CTL_REAL, NULL},
        {"actual_to_date", CTL_INT, NULL},
        {"pace", CTL_REAL, NULL},
        {"gap_to_date", CTL_REAL, NULL},
        {"per_business_day_needed", CTL_REAL, NULL},
};

/* The goal's period around one day. */
typedef struct pace_period {
        ctl_month first;  /* its first month */
        int months;       /* 1, 3 or 12 */
        int64_t start;    /* its first day (days since 1970-01-01) */
        int64_t end;      /* its last day */
        int64_t day;      /* the date paced */
        ctl_month of_day; /* the date's month */
} pace_period;

static int64_t month_start(ctl_month m)
{
        return fd_days_from_civil(m.year, m.month, 1);
}

static void period_of(const char *kind, int64_t day, ctl_month m,
                      pace_period *p)
{
        p->day = day;
        p->of_day = m;
        p->first = m;
        p->months = 1;
        if (kind && !strcmp(kind, "quarter")) {
                p->first.month = (m.month - 1) / 3 * 3 + 1;
                p->months = 3;
        } else if (kind && !strcmp(kind, "year")) {
                p->first.month = 1;
                p->months = 12;
        }
        p->start = month_start(p->first);
        p->end = month_start(ctl_month_add(p->first, p->months)) - 1;
}

/* ceil(n * 100 / pct) into *out; -1 when it does not fit in 63 bits. */
static int ceil_rate(int64_t n, int32_t pct, int64_t *out)
{
        if (n > INT64_MAX / 100)
                return -1;
        *out = (n * 100 + pct - 1) / pct;
        return 0;
}

int ctl_pacing_check(ctl_ctx *ctx)
{
        const ctl_opts *o = &ctx->opt;
        int64_t day;
        ctl_month m;
        if (!o->tenant)
                return ctl_usage(ctx, "pacing needs --tenant T");
        if (o->month || o->from || o->to || o->model || o->currency || o->by ||
            o->days || o->until)
                return ctl_usage(ctx, "pacing takes --date YYYY-MM-DD only "
                                      "(the goal's period, currency and "
                                      "rates come from the goal.* keys of "
                                      "the config)");
        if (o->date && ctl_day_parse_month(o->date, &day, &m))
                return ctl_usage(ctx, "--date is not a date; write it as "
                                      "YYYY-MM-DD (e.g. 2026-11-26)");
        return CTL_EXIT_OK;
}

/* Names the goal keys the tenant lacks in errstr; CTL_EXIT_NOTFOUND, or
 * CTL_EXIT_OK when the goal is complete. */
static int check_goal(ctl_ctx *ctx, const fd_goal *g)
{
        char missing[160] = "";
        if (!g->revenue_minor)
                strcat(missing, ", goal.revenue_minor");
        fd_goal_missing(g, missing);
        if (!missing[0])
                return CTL_EXIT_OK;
        snprintf(ctx->errstr, sizeof(ctx->errstr),
                 "no revenue goal for tenant '%s'%s: set %s in its "
                 "[tenant.%s] section (or at the top level for every tenant) "
                 "of the config given with -c; optional: goal.period "
                 "(month, quarter, year), goal.currency (default USD), "
                 "goal.lead_to_mql_pct",
                 ctx->opt.tenant,
                 ctx->conf && ctx->conf->path ? ""
                                              : " (no "
                                                "config "
                                                "given)",
                 missing + 2, ctx->opt.tenant);
        return CTL_EXIT_NOTFOUND;
}

/* Won revenue of month m in cur: field total of the first model of
 * attribution.models whose revenue:<model>:<cur>:<m> hash exists (all
 * models hold the same total). */
static int read_revenue(ctl_ctx *ctx, ctl_month m, const char *cur,
                        int64_t *out)
{
        const fd_config *conf = ctx->conf;
        char month[8], key[512], suffix[128];
        *out = 0;
        ctl_month_format(m, month, sizeof(month));
        for (size_t i = 0; i < conf->model_cnt; i++) {
                redisReply *reply;
                int found = 0;
                snprintf(suffix, sizeof(suffix), "revenue:%s:%s:%s",
                         fd_model_name(conf->models[i]), cur, month);
                if (ctl_tenant_key(ctx, key, sizeof(key), suffix))
                        return CTL_EXIT_RUNTIME;
                reply = ctl_redis_cmd(&ctx->redis, ctx->errstr,
                                      sizeof(ctx->errstr), "HGET %s total",
                                      key);
                if (!reply)
                        return CTL_EXIT_RUNTIME;
                if (reply->type == REDIS_REPLY_STRING) {
                        found = 1;
                        if (ctl_parse_i64(reply->str, out))
                                fprintf(stderr,
                                        "funnelctl: warning: %s field total "
                                        "holds '%s', not an amount; counted "
                                        "as 0\n",
                                        key, reply->str);
                }
                freeReplyObject(reply);
                if (found)
                        break;
        }
        return CTL_EXIT_OK;
}

/* Sums monthly:<stage> over the period's months up to the date's month. */
static int read_actual(ctl_ctx *ctx, const pace_period *p, const char *stage,
                       int64_t *sum)
{
        char suffix[64], months[PACE_MAX_MONTHS][8];
        const char *fields[PACE_MAX_MONTHS];
        int64_t counts[PACE_MAX_MONTHS];
        int cnt = ctl_month_diff(p->first, p->of_day) + 1, rc;
        snprintf(suffix, sizeof(suffix), "monthly:%s", stage);
        for (int i = 0; i < cnt; i++) {
                ctl_month_format(ctl_month_add(p->first, i), months[i],
                                 sizeof(months[i]));
                fields[i] = months[i];
        }
        if ((rc = ctl_read_counts(ctx, suffix, fields, cnt, counts)))
                return rc;
        *sum = 0;
        for (int i = 0; i < cnt; i++)
                *sum += counts[i];
        return CTL_EXIT_OK;
}

/* One stage's row; decimals of per_business_day_needed (revenue, in minor
 * units, needs no more than 2). */
static void pacing_row(ctl_table *t, const char *stage, int64_t required,
                       int64_t actual, int elapsed, int total, int decimals)
{
        double req_to_date =
                total > 0 ? (double)required * elapsed / total : required;
        int remaining = total - elapsed;
        int64_t left = required - actual;
        ctl_row(t);
        ctl_set_str(t, P_STAGE, stage);
        ctl_set_int(t, P_REQ, required);
        ctl_set_real(t, P_REQ_TO_DATE, req_to_date, 2);
        ctl_set_int(t, P_ACTUAL, actual);
        if (req_to_date > 0)
                ctl_set_real(t, P_PACE, (double)actual / req_to_date, 4);
        ctl_set_real(t, P_GAP, (double)actual - req_to_date, 2);
        if (remaining > 0)
                ctl_set_real(t, P_PER_BDAY,
                             left > 0 ? (double)left / remaining : 0, decimals);
}

int ctl_pacing_run(ctl_ctx *ctx)
{
        static const char *const stages[] = {"lead", "mql", "sql",
                                             "closed_won"};
        const fd_tenant_conf *tc = fd_config_tenant(ctx->conf, ctx->opt.tenant);
        const fd_goal *g = &tc->goal;
        const fd_calendar *cal = &tc->calendar;
        int64_t day, need[4], actual[4], revenue = 0;
        int total, elapsed, rc, has_lead = g->lead_to_mql_pct != INT32_MIN;
        char start[16], end[16], date[16], note[512];
        pace_period p;
        ctl_month m;
        ctl_table *t;

        if ((rc = check_goal(ctx, g)) != CTL_EXIT_OK)
                return rc;
        if (ctx->opt.date) {
                if (ctl_day_parse_month(ctx->opt.date, &day, &m))
                        return ctl_usage(ctx, "--date is not a date; write it "
                                              "as YYYY-MM-DD");
        } else {
                day = ctl_today_month(ctl_now_tz(ctx), &m);
        }
        period_of(g->period, day, m, &p);

        /* the reverse funnel, rounded up at each step */
        need[3] = (g->revenue_minor + g->deal_size_minor - 1) /
                  g->deal_size_minor;
        if (ceil_rate(need[3], g->sql_to_won_pct, &need[2]) ||
            ceil_rate(need[2], g->mql_to_sql_pct, &need[1]) ||
            (has_lead && ceil_rate(need[1], g->lead_to_mql_pct, &need[0]))) {
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "the goal of tenant '%s' needs more stage entries "
                         "than funnelctl can count; check goal.revenue_minor "
                         "against goal.deal_size_minor and the goal.*_pct "
                         "rates",
                         ctx->opt.tenant);
                return CTL_EXIT_RUNTIME;
        }

        if ((rc = ctl_check_tenant(ctx)) != CTL_EXIT_OK)
                return rc;
        for (int s = has_lead ? 0 : 1; s < 4; s++)
                if ((rc = read_actual(ctx, &p, stages[s], &actual[s])))
                        return rc;
        for (int i = 0; i <= ctl_month_diff(p.first, p.of_day); i++) {
                int64_t amount;
                if ((rc = read_revenue(ctx, ctl_month_add(p.first, i),
                                       g->currency, &amount)))
                        return rc;
                revenue += amount;
        }

        total = fd_business_days_between(cal, p.start, p.end);
        elapsed = fd_business_days_between(cal, p.start, p.day);
        ctl_day_format(p.start, start, sizeof(start));
        ctl_day_format(p.end, end, sizeof(end));
        ctl_day_format(p.day, date, sizeof(date));

        t = ctl_doc_table(ctx->doc, "goal", goal_cols, G__CNT);
        ctl_row(t);
        ctl_set_str(t, G_PERIOD, g->period);
        ctl_set_str(t, G_START, start);
        ctl_set_str(t, G_END, end);
        ctl_set_str(t, G_DATE, date);
        ctl_set_int(t, G_TARGET, g->revenue_minor);
        ctl_set_str(t, G_CUR, g->currency);
        ctl_set_int(t, G_DEAL, g->deal_size_minor);
        ctl_set_int(t, G_SQL_WON, g->sql_to_won_pct);
        ctl_set_int(t, G_MQL_SQL, g->mql_to_sql_pct);
        if (has_lead)
                ctl_set_int(t, G_LEAD_MQL, g->lead_to_mql_pct);
        ctl_set_int(t, G_BDAYS, total);
        ctl_set_int(t, G_ELAPSED, elapsed);
        ctl_set_int(t, G_REMAINING, total - elapsed);

        t = ctl_doc_table(ctx->doc, "pacing", pacing_cols, P__CNT);
        for (int s = has_lead ? 0 : 1; s < 4; s++)
                pacing_row(t, stages[s], need[s], actual[s], elapsed, total, 4);
        pacing_row(t, "revenue", g->revenue_minor, revenue, elapsed, total, 2);

        ctl_doc_note(ctx->doc,
                     "reverse funnel, rounded up at each step: closed_won = "
                     "ceil(target / deal size), sql = ceil(closed_won * 100 "
                     "/ sql_to_won_pct), mql = ceil(sql * 100 / "
                     "mql_to_sql_pct)%s",
                     has_lead ? ", lead = ceil(mql * 100 / lead_to_mql_pct)"
                              : " (no lead row: goal.lead_to_mql_pct is not "
                                "set)");
        ctl_doc_note(ctx->doc,
                     "required_to_date = required_period * "
                     "business_days_elapsed / business_days (elapsed counts "
                     "the date itself); pace = actual_to_date / "
                     "required_to_date (null when 0); gap_to_date = "
                     "actual_to_date - required_to_date; "
                     "per_business_day_needed = what is still missing / "
                     "business days after the date (null when none are "
                     "left)");
        ctl_doc_note(ctx->doc,
                     "actual_to_date sums the monthly stage entries "
                     "(P:{T}:monthly:<stage>) of the period's months up to "
                     "and including the date's month, the whole of it: for "
                     "the current month that is month to date as stored, for "
                     "a past date it also counts the rest of its month");
        ctl_doc_note(ctx->doc,
                     "revenue: closed-won amounts in %s (minor units) from "
                     "field total of P:{T}:revenue:<model>:%s:<month>, the "
                     "same for every model; the first model of "
                     "attribution.models that has the month's key is read",
                     g->currency, g->currency);
        ctl_calendar_note(cal, p.start, p.end, note, sizeof(note));
        ctl_doc_note(ctx->doc, "%s", note);
        return CTL_EXIT_OK;
}
