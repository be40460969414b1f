/* funneld — one run of the daemon. */
#include "app.h"

#include <stdio.h>
#include <string.h>

#include "funneld/redis.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "store.h"

/* Returns a codec owned by the caller. */
fd_codec *fd_app_codec(const fd_config *conf, char *errstr, size_t errstr_size)
{
        fd_codec *codec = fd_codec_new(conf->schema_dir, errstr, errstr_size);
        if (!codec)
                return NULL;
        for (size_t i = 0; i < conf->schema_id_cnt; i++)
                if (fd_codec_add_writer(codec, conf->schema_ids[i].id,
                                        conf->schema_ids[i].kind,
                                        conf->schema_ids[i].path, errstr,
                                        errstr_size) != 0)
                        goto fail;
        if (conf->plain_writer_lead &&
            fd_codec_set_plain_writer(codec, FD_EV_LEAD,
                                      conf->plain_writer_lead, errstr,
                                      errstr_size) != 0)
                goto fail;
        if (conf->plain_writer_crm &&
            fd_codec_set_plain_writer(codec, FD_EV_CRM, conf->plain_writer_crm,
                                      errstr, errstr_size) != 0)
                goto fail;
        if (conf->plain_writer_spend &&
            fd_codec_set_plain_writer(codec, FD_EV_SPEND,
                                      conf->plain_writer_spend, errstr,
                                      errstr_size) != 0)
                goto fail;
        return codec;
fail:
        fd_codec_destroy(codec);
        return NULL;
}

static int serve_metrics(void *ctx, const fd_http_req *req, fd_buf *body,
                         const char **type)
{
        (void)req;
        *type = "text/plain; version=0.0.4; charset=utf-8";
        return fd_metrics_render(ctx, body) == 0 ? 200 : 500;
}

static int serve_health(fd_metrics *m, int readiness, fd_buf *body,
                        const char **type)
{
        *type = "application/json";
        return fd_metrics_health(m, readiness, body);
}

static int serve_healthz(void *ctx, const fd_http_req *req, fd_buf *body,
                         const char **type)
{
        (void)req;
        return serve_health(ctx, 0, body, type);
}

static int serve_readyz(void *ctx, const fd_http_req *req, fd_buf *body,
                        const char **type)
{
        (void)req;
        return serve_health(ctx, 1, body, type);
}

/* Starts the HTTP endpoint unless http.listen is "off". 0, or -1 with a
 * message in errstr. *out is NULL when off. */
static int start_http(const fd_config *conf, const fd_app_opts *opts,
                      fd_metrics *m, fd_http **out, char *errstr,
                      size_t errstr_size)
{
        fd_http_route routes[3 + opts->route_cnt];
        routes[0] = (fd_http_route){"/metrics", serve_metrics, m};
        routes[1] = (fd_http_route){"/healthz", serve_healthz, m};
        routes[2] = (fd_http_route){"/readyz", serve_readyz, m};
        for (size_t i = 0; i < opts->route_cnt; i++)
                routes[3 + i] = opts->routes[i];
        *out = NULL;
        if (!conf->http_listen || strcmp(conf->http_listen, "off") == 0)
                return 0;
        *out = fd_http_start(conf->http_listen, routes, 3 + opts->route_cnt,
                             errstr, errstr_size);
        if (!*out)
                return -1;
        char host[256];
        int port;
        fd_http_parse_listen(conf->http_listen, host, sizeof(host), &port,
                             errstr, errstr_size);
        FD_INFO("http",
                "serving /metrics, /healthz, /readyz%s on http://%s%s%s:%d/",
                opts->route_cnt ? " and the dashboard" : "",
                strchr(host, ':') ? "[" : "", host,
                strchr(host, ':') ? "]" : "", fd_http_port(*out));
        return 0;
}

int fd_app_run(const fd_config *conf, const fd_app_opts *opts)
{
        char errstr[1024];
        fd_codec *codec = NULL;
        fd_store *store = NULL;
        fd_pipeline *pl = NULL;
        fd_metrics *metrics = NULL;
        fd_http *http = NULL;
        int rc = 1;

        errstr[0] = '\0';
        metrics = fd_metrics_new(conf->group_id);
        if (!metrics)
                goto out;
        if (start_http(conf, opts, metrics, &http, errstr, sizeof(errstr)) != 0)
                goto out;
        codec = fd_app_codec(conf, errstr, sizeof(errstr));
        if (!codec)
                goto out;
        store = fd_store_new(conf, errstr, sizeof(errstr));
        if (!store)
                goto out;
        fd_metrics_up(metrics, FD_COMP_REDIS);
        pl = fd_pipeline_new(conf, codec, store, metrics, errstr,
                             sizeof(errstr));
        if (!pl)
                goto out;
        if (opts->reload)
                fd_pipeline_set_reload(pl, opts->reload, conf->path);
        char where[160];
        FD_INFO("funneld",
                "consuming %s and %s as group '%s'; state in redis %s under "
                "prefix '%s'",
                conf->topic_lead, conf->topic_crm, conf->group_id,
                fd_redis_where(conf, where, sizeof(where)), conf->redis_prefix);
        rc = fd_pipeline_run(pl, opts->stop) == 0 ? 0 : 1;
        const fd_process_stats *st = fd_pipeline_stats(pl);
        FD_INFO("funneld",
                "stopped: %lld events in %lld batches (%lld written while "
                "the next was applied), %lld duplicates, %lld to the DLQ, "
                "%lld promotions, %lld attributions",
                (long long)st->events, (long long)st->batches,
                (long long)st->overlapped, (long long)st->duplicates,
                (long long)st->dlq, (long long)st->promotions,
                (long long)st->attributions);
        errstr[0] = '\0';
out:
        if (rc != 0 && errstr[0])
                FD_ERROR("funneld", "%s", errstr);
        fd_pipeline_destroy(pl);
        fd_http_stop(http);
        fd_store_destroy(store);
        fd_codec_destroy(codec);
        fd_metrics_destroy(metrics);
        return rc;
}
