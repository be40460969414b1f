/* funneld — Redis connection, offsets, epochs, fenced commits, outbox. */
#include "store.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "clock.h"
#include "fault.h"
#include "funneld/redis.h"
#include "log.h"

/* A chunk of the reply arena (fd_store_replies_begin). */
typedef struct reply_chunk {
        struct reply_chunk *next;
        size_t used, cap; /* in units of max_align_t */
        max_align_t data[];
} reply_chunk;

/* The arena's chunks are kept for the next batch up to this many bytes. */
#define REPLY_CHUNK (64 * 1024)
#define REPLY_KEEP  (32 * 1024 * 1024)

struct fd_store {
        const fd_config *conf;
        redisContext *ctx;
        char prefix[128];
        char group[256];
        char where[160]; /* fd_redis_where: for messages */
        fd_resp watch;   /* fd_store_commit's epoch check, kept between */
        int64_t dedupe_v1_until; /* P:meta dedupe_v1_until; 0: none */
        /* The reply arena: chunks in order, the one being filled, and the
         * reader functions saved while it is in use. */
        reply_chunk *chunks, *chunk;
        redisReplyObjectFunctions *saved_fns;
};

/* n bytes for a reply object, aligned, from the arena of the store being
 * read (arena_store: one reader at a time, as for read_exec's answer). */
static _Thread_local fd_store *arena_store;

static void *arena_alloc(size_t n)
{
        fd_store *st = arena_store;
        size_t units = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t);
        reply_chunk *c = st->chunk;

        while (c && c->cap - c->used < units) {
                c = c->next;
                if (c)
                        c->used = 0;
        }
        if (!c) {
                size_t cap = REPLY_CHUNK / sizeof(max_align_t);
                if (units > cap)
                        cap = units;
                c = malloc(sizeof(*c) + cap * sizeof(max_align_t));
                if (!c)
                        return NULL;
                c->used = 0;
                c->cap = cap;
                /* After the chunk being filled: the chain stays in order. */
                if (st->chunk) {
                        c->next = st->chunk->next;
                        st->chunk->next = c;
                } else {
                        c->next = st->chunks;
                        st->chunks = c;
                }
        }
        st->chunk = c;
        void *out = c->data + c->used;
        c->used += units;
        return out;
}

/* A reply object of type as hiredis's own builders make it, hung into its
 * parent array. */
static redisReply *arena_reply(const redisReadTask *task, int type)
{
        redisReply *r = arena_alloc(sizeof(*r));
        if (!r)
                return NULL;
        memset(r, 0, sizeof(*r));
        r->type = type;
        if (task->parent) {
                redisReply *parent = task->parent->obj;
                parent->element[task->idx] = r;
        }
        return r;
}

static void *arena_string(const redisReadTask *task, char *str, size_t len)
{
        char *buf = arena_alloc(len + 1);
        redisReply *r = buf ? arena_reply(task, task->type) : NULL;
        if (!r)
                return NULL;
        memcpy(buf, str, len);
        buf[len] = '\0';
        r->str = buf;
        r->len = len;
        return r;
}

static void *arena_array(const redisReadTask *task, int elements)
{
        redisReply **el = NULL;
        if (elements > 0) {
                el = arena_alloc((size_t)elements * sizeof(*el));
                if (!el)
                        return NULL;
                memset(el, 0, (size_t)elements * sizeof(*el));
        }
        redisReply *r = arena_reply(task, REDIS_REPLY_ARRAY);
        if (!r)
                return NULL;
        r->element = el;
        r->elements = elements > 0 ? (size_t)elements : 0;
        return r;
}

static void *arena_integer(const redisReadTask *task, long long v)
{
        redisReply *r = arena_reply(task, REDIS_REPLY_INTEGER);
        if (r)
                r->integer = v;
        return r;
}

static void *arena_nil(const redisReadTask *task)
{
        return arena_reply(task, REDIS_REPLY_NIL);
}

/* The freeObject of reply builders whose objects are not freed one by
 * one (the arena's go all at once in fd_store_replies_release; read_exec's
 * are not allocated). */
static void free_nothing(void *obj)
{
        (void)obj;
}

static redisReplyObjectFunctions arena_fns = {
        .createString = arena_string,
        .createArray = arena_array,
        .createInteger = arena_integer,
        .createNil = arena_nil,
        .freeObject = free_nothing,
};

/* Lends rd to other reply builders; returns the ones it had. */
static redisReplyObjectFunctions *reader_lend(redisReader *rd,
                                              redisReplyObjectFunctions *fns)
{
        redisReplyObjectFunctions *saved = rd->fn;
        rd->fn = fns;
        return saved;
}

/* Gives rd its own builders back. After an I/O error it may hold a
 * half-read reply of the lent ones, which hiredis must not free with its
 * own functions (the connection is replaced anyway). */
static void reader_restore(redisReader *rd, redisReplyObjectFunctions *saved)
{
        rd->reply = NULL;
        rd->fn = saved;
}

void fd_store_replies_begin(fd_store *store)
{
        arena_store = store;
        if (store->ctx)
                store->saved_fns = reader_lend(store->ctx->reader, &arena_fns);
}

void fd_store_replies_end(fd_store *store)
{
        if (store->ctx && store->saved_fns)
                reader_restore(store->ctx->reader, store->saved_fns);
        store->saved_fns = NULL;
        arena_store = NULL;
}

void fd_store_replies_release(fd_store *store)
{
        size_t kept = 0;
        reply_chunk **at = &store->chunks;
        while (*at) {
                reply_chunk *c = *at;
                kept += c->cap * sizeof(max_align_t);
                if (kept > REPLY_KEEP) {
                        *at = c->next;
                        free(c);
                        continue;
                }
                c->used = 0;
                at = &c->next;
        }
        store->chunk = store->chunks;
}

/* Frees a reply unless it came from the arena (then it goes with the
 * arena). */
static void reply_free(const fd_store *store, redisReply *r)
{
        if (arena_store != store)
                freeReplyObject(r);
}

int64_t fd_store_dedupe_v1_until(const fd_store *store)
{
        return store->dedupe_v1_until;
}

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
                         "redis %s: %s failed: %s; check that redis-server "
                         "is running and reachable (%s)",
                         store->where, what, store->ctx->errstr,
                         fd_redis_settings(store->conf));
                return FD_STORE_ERR;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
                int oom = strncmp(reply->str, "OOM", 3) == 0;
                snprintf(errstr, errstr_size, "redis %s: %s refused: %s; %s",
                         store->where, what, reply->str,
                         oom ? "redis is out of memory: raise its maxmemory "
                               "or free memory"
                             : "check redis.user, redis.password and the "
                               "ACL of that user");
                freeReplyObject(reply);
                return FD_STORE_ERR;
        }
        freeReplyObject(reply);
        return FD_STORE_OK;
}

/* Checks or writes the layout marker P:meta layout_version. Layout 1 kept
 * one dedupe marker string per event id (dedupe.h); it is upgraded in
 * place, and P:meta dedupe_v1_until says until when its markers (written
 * with a TTL of the dedupe window) are read too. */
static int check_layout(fd_store *store, char *errstr, size_t errstr_size)
{
        redisReply *reply, *ver, *until;
        int version = FD_LAYOUT_VERSION;

        reply = redisCommand(store->ctx,
                             "HMGET %s:meta layout_version dedupe_v1_until",
                             store->prefix);
        if (!reply || reply->type == REDIS_REPLY_ERROR)
                return check_reply(store, reply, "reading the layout marker",
                                   errstr, errstr_size);
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
                snprintf(errstr, errstr_size,
                         "redis %s: reading the layout marker: unexpected "
                         "reply; check that %s names a Redis server",
                         store->where, fd_redis_settings(store->conf));
                freeReplyObject(reply);
                return FD_STORE_ERR;
        }
        ver = reply->element[0];
        until = reply->element[1];
        if (ver->type == REDIS_REPLY_STRING)
                version = atoi(ver->str);
        if (version != 1 && version != FD_LAYOUT_VERSION) {
                snprintf(errstr, errstr_size,
                         "redis key %s:meta says layout_version %s but this "
                         "funneld writes layout %d; use another redis.prefix "
                         "or migrate the data",
                         store->prefix, ver->str, FD_LAYOUT_VERSION);
                freeReplyObject(reply);
                return FD_STORE_ERR;
        }
        store->dedupe_v1_until =
                until->type == REDIS_REPLY_STRING ? atoll(until->str) : 0;
        freeReplyObject(reply);
        if (version == 1 && store->dedupe_v1_until == 0)
                store->dedupe_v1_until =
                        fd_wall_ms() + store->conf->dedupe_window_ms;
        if (store->dedupe_v1_until)
                reply = redisCommand(
                        store->ctx,
                        "HSET %s:meta layout_version %d writer funneld/%s "
                        "dedupe_v1_until %lld",
                        store->prefix, FD_LAYOUT_VERSION, FUNNELD_VERSION,
                        (long long)store->dedupe_v1_until);
        else
                reply = redisCommand(
                        store->ctx,
                        "HSET %s:meta layout_version %d writer funneld/%s",
                        store->prefix, FD_LAYOUT_VERSION, FUNNELD_VERSION);
        return check_reply(store, reply, "writing the layout marker", errstr,
                           errstr_size);
}

/* funneld reads its dedupe sets with SMISMEMBER (Redis 6.2): a Redis that
 * does not run it for us is refused at start, not in every batch. */
static int check_smismember(fd_store *store, char *errstr, size_t errstr_size)
{
        redisReply *reply = redisCommand(
                store->ctx, "SMISMEMBER %s:dedupe-probe x", store->prefix);
        if (reply && reply->type == REDIS_REPLY_ERROR) {
                snprintf(errstr, errstr_size,
                         "redis %s refused SMISMEMBER: %s; funneld reads "
                         "its event-id dedupe sets with it: use Redis 6.2 or "
                         "later and let redis.user run it (+smismember or "
                         "+@read)",
                         store->where, reply->str);
                freeReplyObject(reply);
                return FD_STORE_ERR;
        }
        return check_reply(store, reply, "SMISMEMBER", errstr, errstr_size);
}

static int connect_store(fd_store *store, char *errstr, size_t errstr_size)
{
        struct timeval tv = {5, 0};
        redisReply *reply;

        fd_redis_where(store->conf, store->where, sizeof(store->where));
        store->ctx = fd_redis_connect(store->conf, tv);
        if (!store->ctx || store->ctx->err) {
                snprintf(errstr, errstr_size,
                         "cannot connect to redis at %s: %s; start "
                         "redis-server or set %s",
                         store->where,
                         store->ctx ? store->ctx->errstr : "out of memory",
                         fd_redis_settings(store->conf));
                return FD_STORE_ERR;
        }
        tv.tv_sec = 30;
        redisSetTimeout(store->ctx, tv);
        /* TCP only: on a Unix socket hiredis's keepalive fails (and leaves
         * the context in error). */
        if (store->ctx->connection_type == REDIS_CONN_TCP)
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
        if (check_layout(store, errstr, errstr_size) != FD_STORE_OK)
                return FD_STORE_ERR;
        return check_smismember(store, errstr, errstr_size);
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
        fd_resp_free(&store->watch);
        while (store->chunks) {
                reply_chunk *c = store->chunks;
                store->chunks = c->next;
                free(c);
        }
        free(store);
}

int fd_store_reconnect(fd_store *store, char *errstr, size_t errstr_size)
{
        if (store->ctx)
                redisFree(store->ctx);
        store->ctx = NULL;
        return connect_store(store, errstr, errstr_size);
}

/* Sends the RESP text of iov (cnt pieces) to Redis. With hiredis 0.x (plain
 * sockets) it is written to the socket from where it was built: going
 * through hiredis's output buffer copied every byte of a batch there first
 * (and again as that buffer grew). Whatever hiredis has buffered goes
 * first. A failure is the context's error, as hiredis's own would be. */
static int send_resp(fd_store *store, struct iovec *iov, int cnt)
{
        redisContext *c = store->ctx;
        int done = 0;
#if HIREDIS_MAJOR == 0
        while (!done)
                if (redisBufferWrite(c, &done) != REDIS_OK)
                        return -1;
        while (cnt > 0) {
                ssize_t n = writev(c->fd, iov, cnt);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        c->err = REDIS_ERR_IO;
                        snprintf(c->errstr, sizeof(c->errstr), "%s",
                                 strerror(errno));
                        return -1;
                }
                for (; cnt > 0 && (size_t)n >= iov->iov_len; iov++, cnt--)
                        n -= (ssize_t)iov->iov_len;
                if (cnt > 0) {
                        iov->iov_base = (char *)iov->iov_base + n;
                        iov->iov_len -= (size_t)n;
                }
        }
#else
        /* hiredis 1.x may speak TLS on the socket: through its buffer. */
        for (int i = 0; i < cnt; i++)
                if (redisAppendFormattedCommand(c, iov[i].iov_base,
                                                iov[i].iov_len) != REDIS_OK)
                        return -1;
        while (!done)
                if (redisBufferWrite(c, &done) != REDIS_OK)
                        return -1;
#endif
        return 0;
}

/* Reads what the socket has into the reader's buffer, first dropping the
 * bytes already taken from it, as hiredis does after each reply (its sds
 * functions are public in hiredis 0.x; 1.x renamed them, and there the
 * buffer keeps a batch's answer until hiredis's next reply). Only between
 * values read with take_value: hiredis has no reply half-read. 0, or -1
 * with the context's error set. */
static int read_more(fd_store *store)
{
        redisReader *rd = store->ctx->reader;
#if HIREDIS_MAJOR == 0
        if (rd->pos >= 1024) {
                sdsrange(rd->buf, (int)rd->pos, -1);
                rd->pos = 0;
                rd->len = sdslen(rd->buf);
        }
#else
        (void)rd;
#endif
        return redisBufferRead(store->ctx) == REDIS_OK ? 0 : -1;
}

/* Notes bytes from Redis that are not RESP2 on the connection (which is
 * then replaced). */
static int not_resp(fd_store *store)
{
        store->ctx->err = REDIS_ERR_PROTOCOL;
        snprintf(store->ctx->errstr, sizeof(store->ctx->errstr),
                 "redis sent bytes that are not RESP2");
        return -1;
}

/* 0 when hiredis has no reply half-read, so that take_value may read the
 * buffer; -1 with the context's error set otherwise. */
static int reader_idle(fd_store *store)
{
        redisReader *rd = store->ctx->reader;
        return rd->ridx != -1 || rd->err ? not_resp(store) : 0;
}

/* Takes the next value from the reader's buffer, reading from the socket
 * as needed, without hiredis's parse: "+QUEUED" and integers (most of a
 * transaction's answer and of SMISMEMBER's) by a short check here,
 * anything else with fd_resp_skim. After reader_idle. 0, or -1 with the
 * context's error set. Inline: it runs for every value of an answer. */
static inline __attribute__((always_inline)) int take_value(fd_store *store,
                                                            fd_resp_value *v)
{
        static const char queued[] = "+QUEUED\r\n";
        redisReader *rd = store->ctx->reader;

        for (;;) {
                const char *b = rd->buf + rd->pos;
                size_t avail = rd->len - rd->pos, k;
                long long num = 0;
                int rc;

                if (avail >= sizeof(queued) - 1 &&
                    memcmp(b, queued, sizeof(queued) - 1) == 0) {
                        *v = (fd_resp_value){.type = FD_RESP_STATUS,
                                             .str = b + 1,
                                             .len = sizeof(queued) - 4};
                        rd->pos += sizeof(queued) - 1;
                        return 0;
                }
                /* at most 18 digits: no overflow */
                for (k = 1; avail && b[0] == ':' && k < avail && k < 19 &&
                            b[k] >= '0' && b[k] <= '9';
                     k++)
                        num = num * 10 + (b[k] - '0');
                if (k > 1 && k + 1 < avail && b[k] == '\r' &&
                    b[k + 1] == '\n') {
                        *v = (fd_resp_value){.type = FD_RESP_INTEGER,
                                             .num = num};
                        rd->pos += k + 2;
                        return 0;
                }
                if ((rc = fd_resp_skim(rd->buf, rd->len, &rd->pos, v)) > 0)
                        return 0;
                if (rc < 0)
                        return not_resp(store);
                if (read_more(store) != 0)
                        return -1;
        }
}

#if HIREDIS_MAJOR == 0
#define REPLY_DEPTH 8

/* One reply built in the arena straight from the reader's buffer
 * (take_value), as the arena builders above build it through hiredis's
 * parse (which costs more than the copy: ~130 Ir per value). 0, or -1
 * with the context's error set (an array nested deeper than REPLY_DEPTH
 * counts as one). */
static int arena_read(fd_store *store, redisReply **out)
{
        static const int type_of[] = {
                [FD_RESP_STATUS] = REDIS_REPLY_STATUS,
                [FD_RESP_ERROR] = REDIS_REPLY_ERROR,
                [FD_RESP_INTEGER] = REDIS_REPLY_INTEGER,
                [FD_RESP_STRING] = REDIS_REPLY_STRING,
                [FD_RESP_ARRAY] = REDIS_REPLY_ARRAY,
                [FD_RESP_NIL] = REDIS_REPLY_NIL,
        };
        redisReply *open[REPLY_DEPTH];
        size_t filled[REPLY_DEPTH], depth = 0;
        fd_resp_value v;

        if (reader_idle(store) != 0)
                return -1;
        for (;;) {
                if (take_value(store, &v) != 0)
                        return -1;
                redisReply *r = arena_alloc(sizeof(*r));
                if (!r)
                        return -1;
                memset(r, 0, sizeof(*r));
                r->type = type_of[v.type];
                r->integer = v.num;
                if (v.str) { /* a status, error or string */
                        if (!(r->str = arena_alloc(v.len + 1)))
                                return -1;
                        memcpy(r->str, v.str, v.len);
                        r->str[v.len] = '\0';
                        r->len = v.len;
                }
                if (v.type == FD_RESP_ARRAY && v.more > 0) {
                        r->elements = (size_t)v.more;
                        if (!(r->element = arena_alloc(r->elements *
                                                       sizeof(*r->element))))
                                return -1;
                }
                if (depth)
                        open[depth - 1]->element[filled[depth - 1]++] = r;
                else
                        *out = r;
                if (r->elements) {
                        if (depth == REPLY_DEPTH)
                                return not_resp(store);
                        open[depth] = r;
                        filled[depth++] = 0;
                }
                while (depth && filled[depth - 1] == open[depth - 1]->elements)
                        depth--;
                if (!depth)
                        return 0;
        }
}
#endif

int fd_store_pipeline(fd_store *store, const fd_resp *r, redisReply **replies)
{
        size_t i;
        if (r->cmd_cnt == 0)
                return FD_STORE_OK;
        struct iovec iov = {r->buf.data, r->buf.len};
        if (send_resp(store, &iov, 1) != 0)
                return FD_STORE_ERR;
        for (i = 0; i < r->cmd_cnt; i++) {
                void *reply = NULL;
#if HIREDIS_MAJOR == 0
                /* the batch's reads: straight into the arena */
                if (arena_store == store) {
                        if (arena_read(store, (redisReply **)&replies[i]) != 0)
                                break;
                        continue;
                }
#endif
                if (redisGetReply(store->ctx, &reply) != REDIS_OK || !reply)
                        break;
                replies[i] = reply;
        }
        if (i == r->cmd_cnt)
                return FD_STORE_OK;
        FD_WARN("store", "redis pipeline failed after %zu of %zu replies: %s",
                i, r->cmd_cnt, store->ctx->errstr);
        while (i > 0)
                reply_free(store, replies[--i]);
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

/* Sends r's commands (none for a plain commit) followed by a WATCH of the
 * epoch keys of parts and a check that they still hold epochs, in one round
 * trip; r is as it was on return. r's replies go to replies, which has room
 * for two more (the caller frees them; none are left allocated unless
 * FD_STORE_OK). FD_STORE_OK (watching), FD_STORE_FENCED (unwatched) or
 * FD_STORE_ERR. */
static int watch_epochs(fd_store *store, const int32_t *parts,
                        const int64_t *epochs, size_t cnt, fd_resp *r,
                        redisReply **replies)
{
        size_t k = r->cmd_cnt, len = r->buf.len;
        redisReply *reply;
        int rc = FD_STORE_ERR, oom = 0;

        for (int c = 0; c < 2; c++) {
                oom |= fd_resp_cmd(r, 1 + (int)cnt) |
                       fd_resp_str(r, c ? "MGET" : "WATCH");
                for (size_t i = 0; i < cnt; i++)
                        oom |= fd_resp_fmt(r, "%s:epoch:%s:%d", store->prefix,
                                           store->group, (int)parts[i]);
        }
        if (oom)
                goto out;
        if (fd_store_pipeline(store, r, replies) != FD_STORE_OK)
                goto out;
        reply_free(store, replies[k]);
        reply = replies[k + 1];
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements == cnt) {
                rc = FD_STORE_OK;
                for (size_t i = 0; i < cnt; i++) {
                        redisReply *e = reply->element[i];
                        if (e->type != REDIS_REPLY_STRING ||
                            strtoll(e->str, NULL, 10) != epochs[i])
                                rc = FD_STORE_FENCED;
                }
        }
        reply_free(store, reply);
        replies[k] = replies[k + 1] = NULL;
        if (rc == FD_STORE_FENCED) {
                reply = redisCommand(store->ctx, "UNWATCH");
                if (reply)
                        reply_free(store, reply);
        }
        if (rc != FD_STORE_OK) /* the caller takes replies only then */
                for (size_t i = 0; i < k; i++) {
                        reply_free(store, replies[i]);
                        replies[i] = NULL;
                }
out:
        r->cmd_cnt = k;
        r->buf.len = len;
        return rc;
}

/* The answer to a batch (+OK, a +QUEUED per command, the EXEC array) is
 * read straight from the reader's buffer, without hiredis's parse and
 * reply objects: only the type of each top-level reply and the errors
 * matter, and a batch has thousands of replies, most of them "+QUEUED" and
 * small integers. buf, pos, len, ridx and err are public fields of
 * redisReader; redisBufferRead() appends what the socket has, and hiredis
 * trims the buffer on its next redisGetReply as usual. */
typedef struct exec_answer {
        int top_type;  /* FD_RESP_* type of the last top-level reply */
        size_t errors; /* error replies, at any depth */
        size_t inner;  /* of them inside the EXEC array: commands that ran */
        char first_error[256];
} exec_answer;

/* Reads the MULTI, QUEUED... and EXEC replies of a transaction of n
 * commands. */
static int read_exec(fd_store *store, size_t n)
{
        exec_answer a = {0};
        size_t tops = n + 2;
        long long left = 0; /* values still to take of the current reply */
        fd_resp_value v;

        while (tops > 0) {
                int top = left == 0;

                if ((tops == n + 2 && reader_idle(store) != 0) ||
                    take_value(store, &v) != 0) {
                        FD_WARN("store",
                                "cannot read redis's answer to a "
                                "transaction: %s; reconnecting",
                                store->ctx->errstr);
                        return FD_STORE_ERR;
                }
                if (v.type == FD_RESP_ERROR) {
                        a.inner += !top;
                        if (a.errors++ == 0) {
                                size_t m = v.len < sizeof(a.first_error) - 1
                                                   ? v.len
                                                   : sizeof(a.first_error) - 1;
                                memcpy(a.first_error, v.str, m);
                                a.first_error[m] = '\0';
                        }
                }
                if (top)
                        a.top_type = v.type;
                left += v.more - !top;
                if (left == 0)
                        tops--;
        }
        if (a.inner) {
                FD_ERROR("store",
                         "redis ran the batch but %zu of its commands failed, "
                         "the first with: %s; redis does not undo the "
                         "others. A key under prefix '%s' holds a value "
                         "funneld did not write: find what else writes "
                         "there, delete the key, and rebuild the state "
                         "(docs/RELIABILITY.md)",
                         a.inner, a.first_error, store->prefix);
                return FD_STORE_PARTIAL;
        }
        if (a.errors) {
                FD_ERROR("store",
                         "redis refused %zu command(s) of the batch, the "
                         "first with: %s; nothing of it was written, it is "
                         "redone",
                         a.errors, a.first_error);
                return FD_STORE_ERR;
        }
        return a.top_type == FD_RESP_NIL ? FD_STORE_FENCED : FD_STORE_OK;
}

int fd_store_watch_read(fd_store *store, const int32_t *parts,
                        const int64_t *epochs, size_t cnt, fd_resp *r,
                        redisReply **replies)
{
        return watch_epochs(store, parts, epochs, cnt, r, replies);
}

int fd_store_exec_send(fd_store *store, const fd_resp *r)
{
        static char multi[] = "*1\r\n$5\r\nMULTI\r\n";
        static char exec[] = "*1\r\n$4\r\nEXEC\r\n";
        struct iovec iov[3] = {{multi, sizeof(multi) - 1},
                               {r->buf.data, r->cmd_cnt ? r->buf.len : 0},
                               {exec, sizeof(exec) - 1}};
        if (fd_fault_armed("commit")) {
                /* Crash tests: MULTI and the batch reach Redis, EXEC never. */
                if (send_resp(store, iov, 2) != 0)
                        return FD_STORE_ERR;
                fd_fault_point("commit");
                return send_resp(store, iov + 2, 1) ? FD_STORE_ERR
                                                    : FD_STORE_OK;
        }
        /* Out now: Redis runs the transaction while the caller goes on. */
        return send_resp(store, iov, 3) ? FD_STORE_ERR : FD_STORE_OK;
}

int fd_store_exec_finish(fd_store *store, size_t cmds)
{
        return read_exec(store, cmds);
}

int fd_store_commit(fd_store *store, const int32_t *parts,
                    const int64_t *epochs, size_t cnt, const fd_resp *r)
{
        redisReply *replies[2];
        int rc;
        fd_resp_reset(&store->watch);
        rc = watch_epochs(store, parts, epochs, cnt, &store->watch, replies);
        if (rc == FD_STORE_OK)
                rc = fd_store_exec_send(store, r);
        return rc == FD_STORE_OK ? fd_store_exec_finish(store, r->cmd_cnt) : rc;
}

int fd_store_outbox_key(fd_store *store, fd_resp *r, int32_t partition)
{
        return fd_resp_fmt(r, "%s:outbox:%s:%d", store->prefix, store->group,
                           (int)partition);
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
