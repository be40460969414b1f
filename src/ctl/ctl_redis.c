/* funnelctl — read-only Redis access. */
#include "ctl_redis.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Turns a NULL or error reply into errstr; frees an error reply. Returns
 * reply when it is usable, else NULL. */
static redisReply *checked(ctl_redis *r, redisReply *reply, const char *what,
                           char *errstr, size_t errstr_size)
{
        if (!reply) {
                snprintf(errstr, errstr_size,
                         "redis %s: %s failed: %s; check that redis-server "
                         "is running and reachable (--redis HOST:PORT or "
                         "SOCKET_PATH, or %s in the config)",
                         r->where, what,
                         r->ctx && r->ctx->errstr[0] ? r->ctx->errstr
                                                     : "no reply",
                         r->settings);
                return NULL;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
                snprintf(errstr, errstr_size,
                         "redis %s: %s refused: %s; check redis.user, "
                         "redis.password, redis.db and the ACL of that user "
                         "(funnelctl needs read commands: HGET, HGETALL, "
                         "HMGET, ZRANGE, SMEMBERS, SISMEMBER, LLEN, GET, SCAN, "
                         "PFCOUNT)",
                         r->where, what, reply->str);
                freeReplyObject(reply);
                return NULL;
        }
        return reply;
}

static int check_layout(ctl_redis *r, const char *prefix, char *errstr,
                        size_t errstr_size)
{
        redisReply *reply = ctl_redis_cmd(
                r, errstr, errstr_size, "HGET %s:meta layout_version", prefix);
        int rc = -1;
        if (!reply)
                return -1;
        if (reply->type != REDIS_REPLY_STRING) {
                snprintf(errstr, errstr_size,
                         "redis %s holds no funneld data under prefix "
                         "'%s' (no %s:meta layout_version); check --prefix / "
                         "redis.prefix and redis.db, or start funneld first",
                         r->where, prefix, prefix);
        } else if (atoi(reply->str) < CTL_LAYOUT_OLDEST ||
                   atoi(reply->str) > CTL_LAYOUT_VERSION) {
                snprintf(errstr, errstr_size,
                         "%s:meta says layout_version %s but this funnelctl "
                         "reads layouts %d to %d; use the funnelctl of the "
                         "funneld release that wrote this data (see "
                         "docs/REDIS.md)",
                         prefix, reply->str, CTL_LAYOUT_OLDEST,
                         CTL_LAYOUT_VERSION);
        } else {
                rc = 0;
        }
        freeReplyObject(reply);
        return rc;
}

/* Sets r->prefix/group to what prefix's P:active names (written by a
 * re-scoring replay once it caught up), else to prefix. */
static int follow_active(ctl_redis *r, const char *prefix, char *errstr,
                         size_t errstr_size)
{
        redisReply *reply = ctl_redis_cmd(
                r, errstr, errstr_size, "HMGET %s:active prefix group", prefix);
        const redisReply *p, *g;

        if (!reply)
                return -1;
        snprintf(r->prefix, sizeof(r->prefix), "%s", prefix);
        r->group[0] = '\0';
        p = reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
                    ? reply->element[0]
                    : NULL;
        g = p ? reply->element[1] : NULL;
        if (p && p->type == REDIS_REPLY_STRING && p->len > 0 &&
            p->len < sizeof(r->prefix)) {
                snprintf(r->prefix, sizeof(r->prefix), "%s", p->str);
                if (g && g->type == REDIS_REPLY_STRING)
                        snprintf(r->group, sizeof(r->group), "%s", g->str);
        }
        freeReplyObject(reply);
        return 0;
}

int ctl_redis_connect(ctl_redis *r, const fd_config *conf, const char *prefix,
                      char *errstr, size_t errstr_size)
{
        struct timeval tv = {5, 0};
        redisReply *reply;

        fd_redis_where(conf, r->where, sizeof(r->where));
        r->settings = fd_redis_settings(conf);
        r->ctx = fd_redis_connect(conf, tv);
        if (!r->ctx || r->ctx->err) {
                snprintf(errstr, errstr_size,
                         "cannot connect to redis at %s: %s; start "
                         "redis-server, or point funnelctl at it with "
                         "--redis HOST:PORT or SOCKET_PATH, or -c "
                         "FUNNELD_CONFIG",
                         r->where, r->ctx ? r->ctx->errstr : "out of memory");
                goto fail;
        }
        tv.tv_sec = 30;
        redisSetTimeout(r->ctx, tv);
        if (conf->redis_password) {
                if (conf->redis_user)
                        reply = redisCommand(r->ctx, "AUTH %s %s",
                                             conf->redis_user,
                                             conf->redis_password);
                else
                        reply = redisCommand(r->ctx, "AUTH %s",
                                             conf->redis_password);
                reply = checked(r, reply, "AUTH", errstr, errstr_size);
                if (!reply)
                        goto fail;
                freeReplyObject(reply);
        }
        if (conf->redis_db) {
                reply = redisCommand(r->ctx, "SELECT %d", conf->redis_db);
                reply = checked(r, reply, "SELECT", errstr, errstr_size);
                if (!reply)
                        goto fail;
                freeReplyObject(reply);
        }
        if (follow_active(r, prefix, errstr, errstr_size) ||
            check_layout(r, r->prefix, errstr, errstr_size))
                goto fail;
        return 0;
fail:
        ctl_redis_close(r);
        return -1;
}

void ctl_redis_close(ctl_redis *r)
{
        if (r->ctx)
                redisFree(r->ctx);
        r->ctx = NULL;
}

redisReply *ctl_redis_cmd(ctl_redis *r, char *errstr, size_t errstr_size,
                          const char *fmt, ...)
{
        va_list ap;
        redisReply *reply;
        char what[64];
        va_start(ap, fmt);
        reply = redisvCommand(r->ctx, fmt, ap);
        va_end(ap);
        snprintf(what, sizeof(what), "%.*s", (int)strcspn(fmt, " "), fmt);
        return checked(r, reply, what, errstr, errstr_size);
}

redisReply *ctl_redis_argv(ctl_redis *r, char *errstr, size_t errstr_size,
                           int argc, const char **argv)
{
        redisReply *reply = redisCommandArgv(r->ctx, argc, argv, NULL);
        return checked(r, reply, argv[0], errstr, errstr_size);
}

int ctl_redis_hgetall(ctl_redis *r, const char *key, ctl_hash *h, char *errstr,
                      size_t errstr_size)
{
        redisReply *reply;
        size_t n;
        memset(h, 0, sizeof(*h));
        reply = ctl_redis_cmd(r, errstr, errstr_size, "HGETALL %s", key);
        if (!reply)
                return -1;
        if (reply->type != REDIS_REPLY_ARRAY) {
                snprintf(errstr, errstr_size,
                         "redis key %s is not a hash as docs/REDIS.md "
                         "describes; check --prefix and that funneld writes "
                         "this database",
                         key);
                freeReplyObject(reply);
                return -1;
        }
        n = reply->elements / 2;
        h->field = calloc(n + 1, sizeof(*h->field));
        h->value = calloc(n + 1, sizeof(*h->value));
        if (!h->field || !h->value)
                goto oom;
        for (size_t i = 0; i < n; i++) {
                redisReply *f = reply->element[2 * i];
                redisReply *v = reply->element[2 * i + 1];
                h->field[i] = strdup(f->str ? f->str : "");
                h->value[i] = strdup(v->str ? v->str : "");
                h->cnt = i + 1;
                if (!h->field[i] || !h->value[i])
                        goto oom;
        }
        freeReplyObject(reply);
        return 0;
oom:
        freeReplyObject(reply);
        ctl_hash_free(h);
        snprintf(errstr, errstr_size, "out of memory reading %s", key);
        return -1;
}

const char *ctl_hash_get(const ctl_hash *h, const char *field)
{
        for (size_t i = 0; i < h->cnt; i++)
                if (h->field[i] && strcmp(h->field[i], field) == 0)
                        return h->value[i];
        return NULL;
}

void ctl_hash_free(ctl_hash *h)
{
        for (size_t i = 0; i < h->cnt; i++) {
                free(h->field[i]);
                free(h->value[i]);
        }
        free(h->field);
        free(h->value);
        memset(h, 0, sizeof(*h));
}

int ctl_parse_i64(const char *s, int64_t *v)
{
        char *end;
        long long x;
        *v = 0;
        if (!s)
                return 0;
        errno = 0;
        x = strtoll(s, &end, 10);
        if (errno || end == s || *end)
                return -1;
        *v = x;
        return 0;
}

int ctl_glob_escape(const char *s, char *out, size_t out_size)
{
        size_t n = 0;
        for (; *s; s++) {
                if (strchr("*?[]\\", *s)) {
                        if (n + 1 >= out_size)
                                return -1;
                        out[n++] = '\\';
                }
                if (n + 1 >= out_size)
                        return -1;
                out[n++] = *s;
        }
        out[n] = '\0';
        return 0;
}
