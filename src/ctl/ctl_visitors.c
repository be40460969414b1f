/* funnelctl visitors — unique visitors per day (PFCOUNT of the HyperLogLog
 * P:{T}:visitors:D), the leads created that day (P:{T}:daily:lead) and the
 * visitor-to-lead conversion; the period's unique visitors are one PFCOUNT
 * over all its days (a union, not a sum). */
#include "ctl_cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIS_MAX_DAYS     366
#define VIS_DEFAULT_DAYS 7
#define VIS_KEY_LEN      600 /* prefix, tenant (<= 256) and the day */

enum { VD_DATE, VD_VISITORS, VD_LEADS, VD_CONV, VD__CNT };

static const ctl_col day_cols[VD__CNT] = {
        {"date", CTL_STR, NULL},
        {"visitors", CTL_INT, NULL},
        {"leads", CTL_INT, NULL},
        {"visitor_to_lead", CTL_REAL, NULL},
};

enum { VP_FROM, VP_TO, VP_DAYS, VP_VISITORS, VP_LEADS, VP_CONV, VP__CNT };

static const ctl_col period_cols[VP__CNT] = {
        {"from", CTL_STR, NULL},  {"to", CTL_STR, NULL},
        {"days", CTL_INT, NULL},  {"visitors", CTL_INT, NULL},
        {"leads", CTL_INT, NULL}, {"visitor_to_lead", CTL_REAL, NULL},
};

/* Parses day option opt ("--from") into *day; CTL_EXIT_USAGE with errstr
 * saying how to write it. */
static int parse_day(ctl_ctx *ctx, const char *opt, const char *value,
                     int64_t *day)
{
        if (ctl_day_parse(value, day) == 0)
                return CTL_EXIT_OK;
        snprintf(ctx->errstr, sizeof(ctx->errstr),
                 "%s '%s' is not a date; write it as YYYY-MM-DD (e.g. "
                 "2026-11-26)",
                 opt, value);
        return CTL_EXIT_USAGE;
}

/* The days shown, first..last (days since 1970-01-01): --from/--to, by
 * default the 7 days ending today in the tenant's time zone (UTC before
 * the config is loaded). CTL_EXIT_OK or CTL_EXIT_USAGE with errstr. */
static int period(ctl_ctx *ctx, int64_t *first, int64_t *last)
{
        const ctl_opts *o = &ctx->opt;
        int rc;
        if (o->month || o->model || o->currency || o->by || o->days ||
            o->until || o->date)
                return ctl_usage(ctx, "visitors takes --from YYYY-MM-DD and "
                                      "--to YYYY-MM-DD only (no --month, "
                                      "--model, --currency, --by, --days, "
                                      "--until or --date)");
        if (o->to) {
                if ((rc = parse_day(ctx, "--to", o->to, last)))
                        return rc;
        } else {
                *last = ctl_today(ctl_now_tz(ctx));
        }
        if (o->from) {
                if ((rc = parse_day(ctx, "--from", o->from, first)))
                        return rc;
        } else {
                *first = *last - (VIS_DEFAULT_DAYS - 1);
        }
        if (!o->to && !ctx->conf)
                return CTL_EXIT_OK; /* checked in run, "today" needs the
                                       tenant's time zone from the config */
        if (*first > *last)
                return ctl_usage(ctx, o->to ? "--from is after --to; swap "
                                              "them"
                                            : "--from is after today (the "
                                              "default --to); give --to "
                                              "YYYY-MM-DD");
        if (*last - *first >= VIS_MAX_DAYS)
                return ctl_usage(ctx, "the period is longer than 366 days; "
                                      "narrow --from/--to");
        return CTL_EXIT_OK;
}

int ctl_visitors_check(ctl_ctx *ctx)
{
        int64_t first, last;
        if (!ctx->opt.tenant)
                return ctl_usage(ctx, "visitors needs --tenant T");
        return period(ctx, &first, &last);
}

/* PFCOUNT of keys[0..cnt) (one key: that day; several: their union). */
static int pfcount(ctl_ctx *ctx, char (*keys)[VIS_KEY_LEN], int cnt, int64_t *n)
{
        const char **argv = malloc(((size_t)cnt + 1) * sizeof(*argv));
        redisReply *reply;
        int rc = CTL_EXIT_RUNTIME;
        if (!argv) {
                snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory");
                return rc;
        }
        argv[0] = "PFCOUNT";
        for (int i = 0; i < cnt; i++)
                argv[1 + i] = keys[i];
        reply = ctl_redis_argv(&ctx->redis, ctx->errstr, sizeof(ctx->errstr),
                               cnt + 1, argv);
        free(argv);
        if (!reply)
                return rc;
        if (reply->type == REDIS_REPLY_INTEGER) {
                *n = reply->integer;
                rc = CTL_EXIT_OK;
        } else {
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "unexpected reply to PFCOUNT %s%s; check that the "
                         "visitors keys are HyperLogLogs as docs/REDIS.md "
                         "describes",
                         keys[0], cnt > 1 ? " ..." : "");
        }
        freeReplyObject(reply);
        return rc;
}

int ctl_visitors_run(ctl_ctx *ctx)
{
        char dates[VIS_MAX_DAYS][16];
        const char *fields[VIS_MAX_DAYS];
        int64_t visitors[VIS_MAX_DAYS], leads[VIS_MAX_DAYS];
        int64_t first, last, union_cnt = 0, lead_total = 0;
        char(*keys)[VIS_KEY_LEN] = NULL;
        int n, rc;
        ctl_table *t;

        if ((rc = period(ctx, &first, &last)) != CTL_EXIT_OK)
                return rc; /* again: today in the tenant's time zone */
        if ((rc = ctl_check_tenant(ctx)) != CTL_EXIT_OK)
                return rc;
        n = (int)(last - first + 1);
        if (!(keys = calloc((size_t)n, sizeof(*keys)))) {
                snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory");
                return CTL_EXIT_RUNTIME;
        }
        rc = CTL_EXIT_RUNTIME;
        for (int i = 0; i < n; i++) {
                char suffix[32];
                ctl_day_format(first + i, dates[i], sizeof(dates[i]));
                fields[i] = dates[i];
                snprintf(suffix, sizeof(suffix), "visitors:%s", dates[i]);
                if (ctl_tenant_key(ctx, keys[i], sizeof(keys[i]), suffix))
                        goto done;
        }
        if ((rc = ctl_read_counts(ctx, "daily:lead", fields, n, leads)))
                goto done;
        for (int i = 0; i < n; i++)
                if ((rc = pfcount(ctx, &keys[i], 1, &visitors[i])))
                        goto done;
        if ((rc = pfcount(ctx, keys, n, &union_cnt)))
                goto done;

        t = ctl_doc_table(ctx->doc, "visitors", day_cols, VD__CNT);
        for (int i = 0; i < n; i++) {
                ctl_row(t);
                ctl_set_str(t, VD_DATE, dates[i]);
                ctl_set_int(t, VD_VISITORS, visitors[i]);
                ctl_set_int(t, VD_LEADS, leads[i]);
                ctl_set_ratio(t, VD_CONV, leads[i], visitors[i], 4);
                lead_total += leads[i];
        }
        t = ctl_doc_table(ctx->doc, "visitors_period", period_cols, VP__CNT);
        ctl_row(t);
        ctl_set_str(t, VP_FROM, dates[0]);
        ctl_set_str(t, VP_TO, dates[n - 1]);
        ctl_set_int(t, VP_DAYS, n);
        ctl_set_int(t, VP_VISITORS, union_cnt);
        ctl_set_int(t, VP_LEADS, lead_total);
        ctl_set_ratio(t, VP_CONV, lead_total, union_cnt, 4);
        ctl_doc_note(ctx->doc,
                     "visitors: the anonymous ids of the day's LeadEvents "
                     "(event time, tenant time zone), counted by a "
                     "HyperLogLog (exact for small counts, standard error "
                     "0.81 %%); the period's visitors are the union of its "
                     "days, not their sum");
        ctl_doc_note(ctx->doc,
                     "leads: leads created that day (P:{T}:daily:lead); "
                     "visitor_to_lead = leads / visitors (null when there "
                     "is no visitor)");
        rc = CTL_EXIT_OK;
done:
        free(keys);
        return rc;
}
