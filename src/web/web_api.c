/* funneld — the JSON API (funnelctl's commands over HTTP) and the dashboard
 * page. */
#include "web_api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cmds.h"

/* The page, embedded at build time (embed.cmake). */
extern const unsigned char fd_web_dashboard_html[];
extern const unsigned long fd_web_dashboard_html_len;

static const char json_ctype[] = "application/json; charset=utf-8";

/* {"error": msg} with status. */
static int fail(fd_buf *body, const char **type, int status, const char *msg)
{
        json_t *doc = json_pack("{s:s}", "error", msg);
        char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
        *type = json_ctype;
        fd_buf_reset(body);
        if (text) {
                fd_buf_append(body, text, strlen(text));
                fd_buf_append(body, "\n", 1);
        } else {
                const char *oom = "{\"error\": \"out of memory\"}\n";
                fd_buf_append(body, oom, strlen(oom));
        }
        free(text);
        json_decref(doc);
        return status;
}

/* A query argument; NULL when absent or empty. */
static const char *arg(const fd_http_req *req, const char *name)
{
        const char *v = req->arg(req, name);
        return v && *v ? v : NULL;
}

static int need(const fd_http_req *req, const char *name, const char *usage,
                fd_buf *body, const char **type)
{
        char msg[512];
        if (arg(req, name))
                return 0;
        snprintf(msg, sizeof(msg), "missing query argument '%s'; use %s", name,
                 usage);
        return fail(body, type, 400, msg);
}

/* 503: the API's own Redis connection failed (errstr says why). */
static int unreachable(fd_buf *body, const char **type, const char *errstr)
{
        char msg[2560];
        snprintf(msg, sizeof(msg),
                 "the JSON API cannot use Redis: %s (the API reads Redis "
                 "with funneld's redis.* settings; check that redis-server "
                 "runs there, /healthz shows funneld's own connection)",
                 errstr);
        return fail(body, type, 503, msg);
}

struct web_cmd {
        const char *path; /* its route */
        const char *name;
        int (*check)(ctl_ctx *ctx);
        int (*run)(ctl_ctx *ctx);
        const char *usage; /* shown when a required argument is missing */
        int need_tenant, need_id;
};
typedef struct web_cmd web_cmd;

/* Runs a funnelctl command with opt on conf's Redis and answers its JSON
 * document. */
static int run_cmd(const fd_config *conf, const web_cmd *cmd, ctl_opts opt,
                   fd_buf *body, const char **type)
{
        ctl_ctx *ctx = calloc(1, sizeof(*ctx));
        char *text = NULL;
        size_t len = 0;
        FILE *fp;
        int status = 500, rc;

        if (!ctx)
                return fail(body, type, 500, "out of memory");
        ctx->conf = conf;
        ctx->prefix = conf->redis_prefix;
        ctx->group = conf->group_id;
        ctx->opt = opt;
        ctx->utc_clock = 1; /* never switch TZ on the HTTP thread */
        if ((rc = cmd->check(ctx)) != CTL_EXIT_OK) {
                char msg[sizeof(ctx->errstr) + 128];
                snprintf(msg, sizeof(msg),
                         "%s (query arguments are funnelctl's options "
                         "without the dashes, e.g. month=2026-11)",
                         ctx->errstr);
                status = fail(body, type, 400, msg);
                goto done;
        }
        if (!(ctx->doc = ctl_doc_new(cmd->name))) {
                status = fail(body, type, 500, "out of memory");
                goto done;
        }
        if (ctl_redis_connect(&ctx->redis, conf, ctx->prefix, ctx->errstr,
                              sizeof(ctx->errstr))) {
                status = unreachable(body, type, ctx->errstr);
                goto done;
        }
        ctx->prefix = ctx->redis.prefix; /* followed P:active */
        if (ctx->redis.group[0])
                ctx->group = ctx->redis.group;
        rc = cmd->run(ctx);
        if (rc != CTL_EXIT_OK) {
                int io = !ctx->redis.ctx || ctx->redis.ctx->err;
                status = rc == CTL_EXIT_NOTFOUND ? 404
                         : rc == CTL_EXIT_USAGE  ? 400
                         : io                    ? 503
                                                 : 500;
                status = fail(body, type, status,
                              ctx->errstr[0] ? ctx->errstr : "failed");
                goto done;
        }
        if (!(fp = open_memstream(&text, &len))) {
                status = fail(body, type, 500, "out of memory");
                goto done;
        }
        rc = ctl_doc_print(ctx->doc, CTL_FMT_JSON, fp, ctx->errstr,
                           sizeof(ctx->errstr));
        if (fclose(fp) != 0 || rc != 0) {
                status = fail(body, type, 500,
                              ctx->errstr[0] ? ctx->errstr : "out of memory");
                goto done;
        }
        *type = json_ctype;
        status = fd_buf_append(body, text, len)
                         ? fail(body, type, 500, "out of memory")
                         : 200;
done:
        free(text);
        ctl_redis_close(&ctx->redis);
        ctl_doc_destroy(ctx->doc);
        free(ctx);
        return status;
}

static const web_cmd web_cmds[] = {
        {"/api/funnel", "report", ctl_report_check, ctl_report_run,
         "/api/funnel?tenant=T[&month=YYYY-MM | &from=YYYY-MM&to=YYYY-MM]", 1,
         0},
        {"/api/channels", "channels", ctl_channels_check, ctl_channels_run,
         "/api/channels?tenant=T[&model=M][&month=YYYY-MM][&currency=CUR]"
         "[&by=channel|campaign]",
         1, 0},
        {"/api/trend", "trend", ctl_trend_check, ctl_trend_run,
         "/api/trend?tenant=T[&days=N][&until=YYYY-MM-DD]", 1, 0},
        {"/api/cohorts", "cohorts", ctl_cohorts_check, ctl_cohorts_run,
         "/api/cohorts?tenant=T[&by=lead|mql][&month=YYYY-MM | "
         "&from=YYYY-MM&to=YYYY-MM]",
         1, 0},
        {"/api/markov", "markov", ctl_markov_check, ctl_markov_run,
         "/api/markov?tenant=T[&month=YYYY-MM]", 1, 0},
        {"/api/pacing", "pacing", ctl_pacing_check, ctl_pacing_run,
         "/api/pacing?tenant=T[&date=YYYY-MM-DD]", 1, 0},
        {"/api/velocity", "velocity", ctl_velocity_check, ctl_velocity_run,
         "/api/velocity?tenant=T[&by=channel]", 1, 0},
        {"/api/sourcing", "sourcing", ctl_sourcing_check, ctl_sourcing_run,
         "/api/sourcing?tenant=T[&month=YYYY-MM | &from=YYYY-MM&to=YYYY-MM]", 1,
         0},
        {"/api/visitors", "visitors", ctl_visitors_check, ctl_visitors_run,
         "/api/visitors?tenant=T[&from=YYYY-MM-DD][&to=YYYY-MM-DD]", 1, 0},
        {"/api/cold", "cold", ctl_cold_check, ctl_cold_run,
         "/api/cold?tenant=T[&month=YYYY-MM][&limit=N][&upcoming=1]", 1, 0},
        {"/api/lead", "lead", ctl_lead_check, ctl_lead_run,
         "/api/lead?tenant=T&id=LEAD_ID", 1, 1},
        {"/api/status", "status", ctl_status_check, ctl_status_run,
         "/api/status", 0, 0},
};

_Static_assert(sizeof(web_cmds) / sizeof(web_cmds[0]) == FD_WEB_API_CNT,
               "FD_WEB_API_CNT must count web_cmds");
_Static_assert(FD_WEB_ROUTE_CNT == FD_WEB_API_CNT + 3,
               "FD_WEB_ROUTE_CNT: the page twice, /api/tenants, the commands");

/* Any /api/<command>: the query arguments are funnelctl's options without
 * the dashes (id = the lead id); the command's check rejects those it does
 * not take, as funnelctl does. */
static int api_cmd(void *c, const fd_http_req *req, fd_buf *body,
                   const char **type)
{
        const fd_web_api *api = c;
        const web_cmd *cmd = api->cmd;
        ctl_opts o = {0};
        if ((cmd->need_tenant && need(req, "tenant", cmd->usage, body, type)) ||
            (cmd->need_id && need(req, "id", cmd->usage, body, type)))
                return 400;
        o.tenant = arg(req, "tenant");
        o.lead_id = arg(req, "id");
        o.month = arg(req, "month");
        o.from = arg(req, "from");
        o.to = arg(req, "to");
        o.model = arg(req, "model");
        o.currency = arg(req, "currency");
        o.by = arg(req, "by");
        o.days = arg(req, "days");
        o.until = arg(req, "until");
        o.date = arg(req, "date");
        if (cmd->check == ctl_cold_check) { /* options of cold only */
                o.limit = arg(req, "limit");
                o.upcoming = arg(req, "upcoming");
        }
        return run_cmd(api->conf, cmd, o, body, type);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* {"command": "tenants", "tenants": [{"tenant": T, "timezone": Z}, ...]}
 * sorted by id; the time zone lets the page compute the tenant's "today". */
static int api_tenants(void *c, const fd_http_req *req, fd_buf *body,
                       const char **type)
{
        const fd_config *conf = c;
        char errstr[2048];
        ctl_redis r = {0};
        redisReply *reply;
        const char **ids = NULL;
        json_t *doc = NULL, *list;
        char *text = NULL;
        int status = 500;
        (void)req;

        if (ctl_redis_connect(&r, conf, conf->redis_prefix, errstr,
                              sizeof(errstr)))
                return unreachable(body, type, errstr);
        reply = ctl_redis_cmd(&r, errstr, sizeof(errstr), "SMEMBERS %s:tenants",
                              r.prefix);
        if (!reply) {
                status = fail(body, type, 503, errstr);
                goto done;
        }
        if (reply->type != REDIS_REPLY_ARRAY)
                goto done;
        ids = calloc(reply->elements + 1, sizeof(*ids));
        doc = json_pack("{s:s,s:[]}", "command", "tenants", "tenants");
        if (!ids || !doc)
                goto done;
        for (size_t i = 0; i < reply->elements; i++)
                ids[i] = reply->element[i]->str ? reply->element[i]->str : "";
        qsort(ids, reply->elements, sizeof(*ids), cmp_str);
        list = json_object_get(doc, "tenants");
        for (size_t i = 0; i < reply->elements; i++)
                if (json_array_append_new(
                            list,
                            json_pack(
                                    "{s:s,s:s}", "tenant", ids[i], "timezone",
                                    fd_config_tenant(conf, ids[i])->timezone)))
                        goto done;
        if (!(text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)))
                goto done;
        *type = json_ctype;
        if (fd_buf_append(body, text, strlen(text)) == 0 &&
            fd_buf_append(body, "\n", 1) == 0)
                status = 200;
done:
        if (status == 500)
                status = fail(body, type, 500,
                              "cannot list the tenants: out of memory or "
                              "an unexpected SMEMBERS reply; check that "
                              "P:tenants is a set (docs/REDIS.md)");
        free(text);
        json_decref(doc);
        free(ids);
        if (reply)
                freeReplyObject(reply);
        ctl_redis_close(&r);
        return status;
}

static int page(void *c, const fd_http_req *req, fd_buf *body,
                const char **type)
{
        (void)c;
        (void)req;
        *type = "text/html; charset=utf-8";
        if (fd_buf_append(body, fd_web_dashboard_html,
                          (size_t)fd_web_dashboard_html_len))
                return 500;
        return 200;
}

size_t fd_web_routes(const fd_config *conf, fd_http_route *routes,
                     fd_web_api *apis)
{
        size_t n = 0;
        routes[n++] = (fd_http_route){"/", page, NULL};
        routes[n++] = (fd_http_route){"/dashboard", page, NULL};
        routes[n++] = (fd_http_route){"/api/tenants", api_tenants,
                                      (void *)conf /* read only */};
        for (size_t i = 0; i < sizeof(web_cmds) / sizeof(web_cmds[0]); i++) {
                apis[i] = (fd_web_api){conf, &web_cmds[i]};
                routes[n++] =
                        (fd_http_route){web_cmds[i].path, api_cmd, &apis[i]};
        }
        return n;
}
