/* funnelctl — the commands. Each has a check (options only, no Redis; a
 * usage error returns CTL_EXIT_USAGE) and a run (reads Redis, fills the
 * document). Both write what went wrong and what to do to ctx->errstr. */
#ifndef CTL_CMDS_H
#define CTL_CMDS_H

#include "ctl_out.h"
#include "ctl_redis.h"
#include "ctl_time.h"
#include "funneld/config.h"

enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_RUNTIME = 1,
        CTL_EXIT_USAGE = 2,
        CTL_EXIT_NOTFOUND = 3,
};

typedef struct ctl_opts {
        const char *tenant;
        /* report, channels, cohorts, markov, sourcing, cold: YYYY-MM;
         * visitors: from/to as YYYY-MM-DD */
        const char *month, *from, *to;
        const char *model, *currency; /* channels */
        const char *by;               /* channels, cohorts, velocity */
        const char *lead_id;          /* lead */
        const char *days, *until;     /* trend: N days up to YYYY-MM-DD */
        const char *date;             /* pacing: YYYY-MM-DD */
        const char *limit;            /* cold: leads listed per list */
        const char *upcoming;         /* cold: "1" (or "true") lists the
                                         pending deadlines */
} ctl_opts;

typedef struct ctl_ctx {
        const fd_config *conf;
        const char *prefix;
        const char *group;
        ctl_opts opt;
        /* 1 inside funneld (HTTP thread): "now" is taken in UTC, never in
         * the tenant's time zone, because switching TZ is not thread-safe
         * and funneld's pipeline uses it; callers pass explicit periods. */
        int utc_clock;
        ctl_redis redis;
        ctl_doc *doc;
        /* filled by check */
        ctl_month first, last; /* report, cohorts, sourcing: months shown */
        char errstr[2048];
} ctl_ctx;

/* Writes P:{T}:<suffix> into buf. 0, or -1 with errstr (id too long). */
int ctl_tenant_key(ctl_ctx *ctx, char *buf, size_t buf_size,
                   const char *suffix);
/* Sets errstr to what and returns CTL_EXIT_USAGE. */
int ctl_usage(ctl_ctx *ctx, const char *what);

/* Parses value of option opt ("--month") as YYYY-MM into *m; 0, or -1 with
 * errstr saying how to write it. */
int ctl_parse_month_opt(ctl_ctx *ctx, const char *opt, const char *value,
                        ctl_month *m);

/* Sets ctx->first/last from --month or --from/--to; without them the
 * default_months months up to the current one (UTC before the config is
 * loaded; funnelctl checks again with the tenant's time zone). At most
 * max_months months. CTL_EXIT_OK or CTL_EXIT_USAGE with errstr. */
int ctl_check_period(ctl_ctx *ctx, int default_months, int max_months);

/* HMGET P:{T}:<suffix> fields[0..cnt) into counts: 0 where a field is
 * absent; a value that is not a count warns on stderr and counts 0.
 * CTL_EXIT_OK, or CTL_EXIT_RUNTIME with errstr. */
int ctl_read_counts(ctl_ctx *ctx, const char *suffix, const char *const *fields,
                    int cnt, int64_t *counts);

/* HGETALL of P:{T}:<what> (no --month: all time) or P:{T}:<what>:<M> into
 * h (empty when absent). CTL_EXIT_OK, or CTL_EXIT_RUNTIME with errstr. */
int ctl_read_period_hash(ctl_ctx *ctx, const char *what, ctl_hash *h);

/* CTL_EXIT_OK when tenant T is in P:tenants, else CTL_EXIT_NOTFOUND or
 * CTL_EXIT_RUNTIME with errstr. */
int ctl_check_tenant(ctl_ctx *ctx);

int ctl_report_check(ctl_ctx *ctx);
int ctl_report_run(ctl_ctx *ctx);
int ctl_channels_check(ctl_ctx *ctx);
int ctl_channels_run(ctl_ctx *ctx);
int ctl_lead_check(ctl_ctx *ctx);
int ctl_lead_run(ctl_ctx *ctx);
int ctl_status_check(ctl_ctx *ctx);
int ctl_status_run(ctl_ctx *ctx);
int ctl_trend_check(ctl_ctx *ctx);
int ctl_trend_run(ctl_ctx *ctx);
int ctl_cohorts_check(ctl_ctx *ctx);
int ctl_cohorts_run(ctl_ctx *ctx);
int ctl_markov_check(ctl_ctx *ctx);
int ctl_markov_run(ctl_ctx *ctx);
int ctl_pacing_check(ctl_ctx *ctx);
int ctl_pacing_run(ctl_ctx *ctx);
int ctl_velocity_check(ctl_ctx *ctx);
int ctl_velocity_run(ctl_ctx *ctx);
int ctl_sourcing_check(ctl_ctx *ctx);
int ctl_sourcing_run(ctl_ctx *ctx);
int ctl_visitors_check(ctl_ctx *ctx);
int ctl_visitors_run(ctl_ctx *ctx);
int ctl_cold_check(ctl_ctx *ctx);
int ctl_cold_run(ctl_ctx *ctx);

/* The time zone "now" is read in for tenant T: NULL (UTC) when
 * ctx->utc_clock or no config is loaded, else T's zone. */
const char *ctl_now_tz(const ctl_ctx *ctx);

#endif
