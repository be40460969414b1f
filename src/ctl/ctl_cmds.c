/* funnelctl — helpers shared by the commands. */
#include "ctl_cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ctl_tenant_key(ctl_ctx *ctx, char *buf, size_t buf_size, const char *suffix)
{
        int n = snprintf(buf, buf_size, "%s:{%s}:%s", ctx->prefix,
                         ctx->opt.tenant, suffix);
        if (n < 0 || (size_t)n >= buf_size) {
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "key name for tenant '%.64s' is too long (%d "
                         "bytes); use a shorter --tenant or id",
                         ctx->opt.tenant, n);
                return -1;
        }
        return 0;
}

int ctl_check_tenant(ctl_ctx *ctx)
{
        redisReply *reply;
        int rc;
        reply = ctl_redis_cmd(&ctx->redis, ctx->errstr, sizeof(ctx->errstr),
                              "SISMEMBER %s:tenants %s", ctx->prefix,
                              ctx->opt.tenant);
        if (!reply)
                return CTL_EXIT_RUNTIME;
        rc = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1
                     ? CTL_EXIT_OK
                     : CTL_EXIT_NOTFOUND;
        freeReplyObject(reply);
        if (rc == CTL_EXIT_NOTFOUND)
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "tenant '%s' not found: funneld has processed no "
                         "event of it under prefix '%s' (set %s:tenants); "
                         "check --tenant, --prefix and redis.db",
                         ctx->opt.tenant, ctx->prefix, ctx->prefix);
        return rc;
}

const char *ctl_now_tz(const ctl_ctx *ctx)
{
        if (ctx->utc_clock || !ctx->conf || !ctx->opt.tenant)
                return NULL;
        return fd_config_tenant(ctx->conf, ctx->opt.tenant)->timezone;
}

int ctl_read_period_hash(ctl_ctx *ctx, const char *what, ctl_hash *h)
{
        char suffix[300], key[1024];
        snprintf(suffix, sizeof(suffix), "%s%s%s", what,
                 ctx->opt.month ? ":" : "",
                 ctx->opt.month ? ctx->opt.month : "");
        if (ctl_tenant_key(ctx, key, sizeof(key), suffix) ||
            ctl_redis_hgetall(&ctx->redis, key, h, ctx->errstr,
                              sizeof(ctx->errstr)))
                return CTL_EXIT_RUNTIME;
        return CTL_EXIT_OK;
}

int ctl_read_counts(ctl_ctx *ctx, const char *suffix, const char *const *fields,
                    int cnt, int64_t *counts)
{
        char key[512];
        const char **argv;
        redisReply *reply;
        int rc = CTL_EXIT_RUNTIME;

        if (ctl_tenant_key(ctx, key, sizeof(key), suffix))
                return CTL_EXIT_RUNTIME;
        argv = malloc(((size_t)cnt + 2) * sizeof(*argv));
        if (!argv) {
                snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory");
                return CTL_EXIT_RUNTIME;
        }
        argv[0] = "HMGET";
        argv[1] = key;
        for (int i = 0; i < cnt; i++)
                argv[2 + i] = fields[i];
        reply = ctl_redis_argv(&ctx->redis, ctx->errstr, sizeof(ctx->errstr),
                               cnt + 2, argv);
        free(argv);
        if (!reply)
                return CTL_EXIT_RUNTIME;
        if (reply->type != REDIS_REPLY_ARRAY || (int)reply->elements != cnt) {
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "unexpected reply to HMGET %s; check that %s is a "
                         "hash as docs/REDIS.md describes",
                         key, key);
                goto out;
        }
        for (int i = 0; i < cnt; i++) {
                redisReply *e = reply->element[i];
                const char *s = e->type == REDIS_REPLY_STRING ? e->str : NULL;
                if (ctl_parse_i64(s, &counts[i]))
                        fprintf(stderr,
                                "funnelctl: warning: %s field %s holds '%s', "
                                "not a count; shown as 0\n",
                                key, fields[i], s);
        }
        rc = CTL_EXIT_OK;
out:
        freeReplyObject(reply);
        return rc;
}

int ctl_usage(ctl_ctx *ctx, const char *what)
{
        snprintf(ctx->errstr, sizeof(ctx->errstr), "%s", what);
        return CTL_EXIT_USAGE;
}

int ctl_parse_month_opt(ctl_ctx *ctx, const char *opt, const char *value,
                        ctl_month *m)
{
        if (ctl_month_parse(value, m) == 0)
                return 0;
        snprintf(ctx->errstr, sizeof(ctx->errstr),
                 "%s '%s' is not a month; write it as YYYY-MM (e.g. 2026-11)",
                 opt, value);
        return -1;
}

int ctl_check_period(ctl_ctx *ctx, int default_months, int max_months)
{
        const ctl_opts *o = &ctx->opt;
        if (o->month && (o->from || o->to))
                return ctl_usage(ctx, "give either --month or --from/--to, not "
                                      "both");
        if (o->month) {
                if (ctl_parse_month_opt(ctx, "--month", o->month, &ctx->first))
                        return CTL_EXIT_USAGE;
                ctx->last = ctx->first;
                return CTL_EXIT_OK;
        }
        ctx->last = ctl_month_now(ctl_now_tz(ctx));
        if (o->to && ctl_parse_month_opt(ctx, "--to", o->to, &ctx->last))
                return CTL_EXIT_USAGE;
        ctx->first = ctl_month_add(ctx->last, -(default_months - 1));
        if (o->from && ctl_parse_month_opt(ctx, "--from", o->from, &ctx->first))
                return CTL_EXIT_USAGE;
        int span = ctl_month_diff(ctx->first, ctx->last);
        if (span < 0)
                return ctl_usage(ctx, "--from is after --to; swap them");
        if (span >= max_months)
                return ctl_usage(ctx, "the period is longer than 120 months; "
                                      "narrow --from/--to");
        return CTL_EXIT_OK;
}
