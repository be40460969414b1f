/* funneld — Redis connection, offsets, epochs, fenced commits, outbox. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "log.h"

struct fd_store {
        const fd_config *conf;
        redisContext *ctx;
        char prefix[128];
        char group[256];
};

const char *fd_store_prefix(const fd_store *store)
{
        return store->prefix;
}

const char *fd_store_group(const fd_store *store)
{
        return store->group;
}

const char *fd_store_error(const fd_store *store)
{
        return store->ctx && store->ctx->err ? store->ctx->errstr : "";
}

static int check_reply(fd_store *store, redisReply *reply, const char *what,
                       char *errstr, size_t errstr_size)
{
        if (!reply) {
                snprintf(errstr, errstr_size,
                         "redis %s:%d: %s failed: %s; check that redis-server "
                         "is running and reachable (redis.host, redis.port)",
                         store->conf->redis_host, store->conf->redis_port, what,
                         store->ctx->errstr);
                return FD_STORE_ERR;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
                snprintf(errstr, errstr_size,
                         "redis %s:%d: %s refused: %s; check redis.user, "
                         "redis.password and the ACL of that user",
                         store->conf->redis_host, store->conf->redis_port, what,
                         reply->str);
                freeReplyObject(reply);
                return FD_STORE_ERR;
        }
        freeReplyObject(reply);
        return FD_STORE_OK;
}

/* Checks or writes the layout marker P:meta layout_version. */
static int check_layout(fd_store *store, char *errstr, size_t errstr_size)
{
        redisReply *reply = redisCommand(
                store->ctx, "HGET %s:meta layout_version", store->prefix);
        if (!reply || reply->type == REDIS_REPLY_ERROR)
                return check_reply(store, reply, "reading the layout marker",
                                   errstr, errstr_size);
        if (reply->type == REDIS_REPLY_STRING &&
            atoi(reply->str) != FD_LAYOUT_VERSION) {
                snprintf(errstr, errstr_size,
                         "redis key %s:meta says layout_version %s but this "
                         "funneld writes layout %d; use another redis.prefix "
                         "or migrate the data",
                         store->prefix, reply->str, FD_LAYOUT_VERSION);
                freeReplyObject(reply);
                return FD_STORE_ERR;
        }
        freeReplyObject(reply);
        reply = redisCommand(store->ctx,
                             "HSET %s:meta layout_version %d writer funneld/%s",
                             store->prefix, FD_LAYOUT_VERSION, FUNNELD_VERSION);
        return check_reply(store, reply, "writing the layout marker", errstr,
                           errstr_size);
}

static int connect_store(fd_store *store, char *errstr, size_t errstr_size)
{
        struct timeval tv = {5, 0};
        redisReply *reply;

        store->ctx = redisConnectWithTimeout(store->conf->redis_host,
                                             store->conf->redis_port, tv);
        if (!store->ctx || store->ctx->err) {
                snprintf(errstr, errstr_size,
                         "cannot connect to redis at %s:%d: %s; start "
                         "redis-server or set redis.host/redis.port",
                         store->conf->redis_host, store->conf->redis_port,
                         store->ctx ? store->ctx->errstr : "out of memory");
                return FD_STORE_ERR;
        }
        tv.tv_sec = 30;
        redisSetTimeout(store->ctx, tv);
        redisEnableKeepAlive(store->ctx);
        if (store->conf->redis_password) {
                if (store->conf->redis_user)
                        reply = redisCommand(store->ctx, "AUTH %s %s",
                                             store->conf->redis_user,
                                             store->conf->redis_password);
                else
                        reply = redisCommand(store->ctx, "AUTH %s",
                                             store->conf->redis_password);
                if (check_reply(store, reply, "AUTH", errstr, errstr_size))
                        return FD_STORE_ERR;
        }
        if (store->conf->redis_db) {
                reply = redisCommand(store->ctx, "SELECT %d",
                                     store->conf->redis_db);
                if (check_reply(store, reply, "SELECT", errstr, errstr_size))
                        return FD_STORE_ERR;
        }
        return check_layout(store, errstr, errstr_size);
}

/* Returns a connected store owned by the caller (fd_store_destroy). */
fd_store *fd_store_new(const fd_config *conf, char *errstr, size_t errstr_size)
{
        fd_store *store = calloc(1, sizeof(*store));
        if (!store) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        store->conf = conf;
        snprintf(store->prefix, sizeof(store->prefix), "%s",
                 conf->redis_prefix);
        snprintf(store->group, sizeof(store->group), "%s", conf->group_id);
        if (connect_store(store, errstr, errstr_size) != FD_STORE_OK) {
                fd_store_destroy(store);
                return NULL;
        }
        return store;
}

void fd_store_destroy(fd_store *store)
{
        if (!store)
                return;
        if (store->ctx)
                redisFree(store->ctx);
        free(store);
}

int fd_store_reconnect(fd_store *store, char *errstr, size_t errstr_size)
{
        if (store->ctx)
                redisFree(store->ctx);
        store->ctx = NULL;
        return connect_store(store, errstr, errstr_size);
}

int fd_store_pipeline(fd_store *store, const fd_resp *r, redisReply **replies)
{
        size_t i;
        if (r->cmd_cnt == 0)
                return FD_STORE_OK;
        if (redisAppendFormattedCommand(store->ctx, r->buf.data, r->buf.len) !=
            REDIS_OK)
                return FD_STORE_ERR;
        for (i = 0; i < r->cmd_cnt; i++) {
                void *reply = NULL;
                if (redisGetReply(store->ctx, &reply) != REDIS_OK || !reply)
                        break;
                replies[i] = reply;
        }
        if (i == r->cmd_cnt)
                return FD_STORE_OK;
        FD_WARN("store", "redis pipeline failed after %zu of %zu replies: %s",
                i, r->cmd_cnt, store->ctx->errstr);
        while (i > 0)
                freeReplyObject(replies[--i]);
        return FD_STORE_ERR;
}

int fd_store_claim(fd_store *store, const int32_t *parts, size_t cnt,
                   int64_t *epochs)
{
        for (size_t i = 0; i < cnt; i++) {
                redisReply *reply = redisCommand(
                        store->ctx, "INCR %s:epoch:%s:%d", store->prefix,
                        store->group, (int)parts[i]);
                if (!reply || reply->type != REDIS_REPLY_INTEGER) {
                        if (reply)
                                freeReplyObject(reply);
                        return FD_STORE_ERR;
                }
                epochs[i] = reply->integer;
                freeReplyObject(reply);
        }
        return FD_STORE_OK;
}

int fd_store_offsets(fd_store *store, const char *topic, const int32_t *parts,
                     size_t cnt, int64_t *offsets)
{
        for (size_t i = 0; i < cnt; i++) {
                redisReply *reply = redisCommand(
                        store->ctx, "HGET %s:offsets:%s %s:%d", store->prefix,
                        store->group, topic, (int)parts[i]);
                if (!reply || reply->type == REDIS_REPLY_ERROR) {
                        if (reply)
                                freeReplyObject(reply);
                        return FD_STORE_ERR;
                }
                offsets[i] = reply->type == REDIS_REPLY_STRING
                                     ? strtoll(reply->str, NULL, 10)
                                     : -1;
                freeReplyObject(reply);
        }
        return FD_STORE_OK;
}

/* WATCHes the epoch keys of parts and checks they still hold epochs.
 * FD_STORE_OK (watching), FD_STORE_FENCED (unwatched) or FD_STORE_ERR. */
static int watch_epochs(fd_store *store, const int32_t *parts,
                        const int64_t *epochs, size_t cnt)
{
        fd_resp r = {0};
        redisReply *reply;
        int rc = FD_STORE_ERR;

        fd_resp_cmd(&r, 1 + (int)cnt);
        fd_resp_str(&r, "WATCH");
        for (size_t i = 0; i < cnt; i++)
                fd_resp_fmt(&r, "%s:epoch:%s:%d", store->prefix, store->group,
                            (int)parts[i]);
        fd_resp_cmd(&r, 1 + (int)cnt);
        fd_resp_str(&r, "MGET");
        for (size_t i = 0; i < cnt; i++)
                fd_resp_fmt(&r, "%s:epoch:%s:%d", store->prefix, store->group,
                            (int)parts[i]);
        redisReply *replies[2];
        if (fd_store_pipeline(store, &r, replies) != FD_STORE_OK)
                goto out;
        freeReplyObject(replies[0]);
        reply = replies[1];
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements == cnt) {
                rc = FD_STORE_OK;
                for (size_t i = 0; i < cnt; i++) {
                        redisReply *e = reply->element[i];
                        if (e->type != REDIS_REPLY_STRING ||
                            strtoll(e->str, NULL, 10) != epochs[i])
                                rc = FD_STORE_FENCED;
                }
        }
        freeReplyObject(reply);
        if (rc == FD_STORE_FENCED) {
                reply = redisCommand(store->ctx, "UNWATCH");
                if (reply)
                        freeReplyObject(reply);
        }
out:
        fd_resp_free(&r);
        return rc;
}

/* Reads the MULTI, QUEUED... and EXEC replies of a transaction of n
 * commands. */
static int read_exec(fd_store *store, size_t n)
{
        int rc = FD_STORE_OK;
        for (size_t i = 0; i < n + 2; i++) {
                redisReply *reply = NULL;
                if (redisGetReply(store->ctx, (void **)&reply) != REDIS_OK ||
                    !reply)
                        return FD_STORE_ERR;
                if (reply->type == REDIS_REPLY_ERROR) {
                        FD_ERROR("store", "redis refused the batch: %s",
                                 reply->str);
                        rc = FD_STORE_ERR;
                } else if (i == n + 1) {
                        if (reply->type == REDIS_REPLY_NIL)
                                rc = FD_STORE_FENCED;
                        else if (reply->type == REDIS_REPLY_ARRAY)
                                for (size_t j = 0; j < reply->elements; j++)
                                        if (reply->element[j]->type ==
                                            REDIS_REPLY_ERROR) {
                                                FD_ERROR(
                                                        "store",
                                                        "command %zu of the "
                                                        "batch failed: %s",
                                                        j,
                                                        reply->element[j]->str);
                                                rc = FD_STORE_ERR;
                                        }
                }
                freeReplyObject(reply);
        }
        return rc;
}

int fd_store_commit(fd_store *store, const int32_t *parts,
                    const int64_t *epochs, size_t cnt, const fd_resp *r)
{
        int rc = watch_epochs(store, parts, epochs, cnt);
        if (rc != FD_STORE_OK)
                return rc;
        if (redisAppendCommand(store->ctx, "MULTI") != REDIS_OK ||
            (r->cmd_cnt && redisAppendFormattedCommand(store->ctx, r->buf.data,
                                                       r->buf.len) != REDIS_OK))
                return FD_STORE_ERR;
        if (fd_fault_armed("commit")) {
                /* Crash tests: MULTI and the batch reach Redis, EXEC never. */
                int done = 0;
                while (!done)
                        if (redisBufferWrite(store->ctx, &done) != REDIS_OK)
                                return FD_STORE_ERR;
                fd_fault_point("commit");
        }
        if (redisAppendCommand(store->ctx, "EXEC") != REDIS_OK)
                return FD_STORE_ERR;
        return read_exec(store, r->cmd_cnt);
}

int fd_store_outbox_push(fd_store *store, fd_resp *r, int32_t partition,
                         const void *entry, size_t len)
{
        if (fd_resp_cmd(r, 3) || fd_resp_str(r, "RPUSH") ||
            fd_resp_fmt(r, "%s:outbox:%s:%d", store->prefix, store->group,
                        (int)partition) ||
            fd_resp_arg(r, entry, len))
                return -1;
        return 0;
}

int fd_store_outbox_peek(fd_store *store, int32_t partition, long max,
                         redisReply **reply)
{
        *reply = redisCommand(store->ctx, "LRANGE %s:outbox:%s:%d 0 %ld",
                              store->prefix, store->group, (int)partition,
                              max - 1);
        if (!*reply || (*reply)->type != REDIS_REPLY_ARRAY) {
                if (*reply)
                        freeReplyObject(*reply);
                *reply = NULL;
                return FD_STORE_ERR;
        }
        return FD_STORE_OK;
}

int fd_store_outbox_trim(fd_store *store, int32_t partition, int64_t epoch,
                         long n)
{
        fd_resp r = {0};
        int rc;
        fd_resp_cmd(&r, 4);
        fd_resp_str(&r, "LTRIM");
        fd_resp_fmt(&r, "%s:outbox:%s:%d", store->prefix, store->group,
                    (int)partition);
        fd_resp_i64(&r, n);
        fd_resp_i64(&r, -1);
        rc = fd_store_commit(store, &partition, &epoch, 1, &r);
        fd_resp_free(&r);
        return rc;
}
