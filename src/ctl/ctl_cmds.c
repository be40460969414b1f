/* funnelctl — helpers shared by the commands. */
#include "ctl_cmds.h"

#include <stdio.h>
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
