/* funnelctl — read-only Redis access: connect (AUTH, SELECT), check the
 * layout marker, run commands with readable errors, read hashes.
 *
 * funnelctl never writes: unlike fd_store_new() it does not set P:meta. */
#ifndef CTL_REDIS_H
#define CTL_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "funneld/config.h"
#include "funneld/redis.h"

/* The layouts funnelctl reads: 2, and 1 (they differ only in the event-id
 * dedupe keys, which funnelctl does not read). */
#define CTL_LAYOUT_VERSION 2
#define CTL_LAYOUT_OLDEST  1

typedef struct ctl_redis {
        redisContext *ctx;
        char where[160];      /* fd_redis_where, for messages */
        const char *settings; /* fd_redis_settings */
        /* The namespace to read: the prefix given, or the one its P:active
         * names (a re-scoring replay that switched the readers). */
        char prefix[256];
        char group[256]; /* P:active's group; "" when not switched */
} ctl_redis;

/* A hash as read by HGETALL (or fields of HMGET): field[i] -> value[i],
 * value NULL for a nil reply. Free with ctl_hash_free. */
typedef struct ctl_hash {
        char **field;
        char **value;
        size_t cnt;
} ctl_hash;

/* Connects to conf's redis (host and port or socket, user, password, db),
 * follows P:active to the namespace readers of P read (r->prefix, r->group) and
 * checks its P:meta layout_version (prefix P). 0, or -1 with errstr saying what
 * went wrong and what to do (then r holds no connection). */
int ctl_redis_connect(ctl_redis *r, const fd_config *conf, const char *prefix,
                      char *errstr, size_t errstr_size);
void ctl_redis_close(ctl_redis *r);

/* Runs one command (hiredis format). Returns the reply (caller frees with
 * freeReplyObject) or NULL with errstr set on I/O errors and error replies. */
redisReply *ctl_redis_cmd(ctl_redis *r, char *errstr, size_t errstr_size,
                          const char *fmt, ...);

/* The same with an argument vector (NUL-terminated strings). */
redisReply *ctl_redis_argv(ctl_redis *r, char *errstr, size_t errstr_size,
                           int argc, const char **argv);

/* HGETALL key into h (empty when the key does not exist). 0 or -1. */
int ctl_redis_hgetall(ctl_redis *r, const char *key, ctl_hash *h, char *errstr,
                      size_t errstr_size);
const char *ctl_hash_get(const ctl_hash *h, const char *field);
void ctl_hash_free(ctl_hash *h);

/* Parses a Redis integer string. NULL parses as 0. 0 or -1 (not an integer;
 * *v is then 0). */
int ctl_parse_i64(const char *s, int64_t *v);

/* Escapes the glob characters of s for a SCAN MATCH pattern into out. 0, or
 * -1 when out is too small. */
int ctl_glob_escape(const char *s, char *out, size_t out_size);

#endif
