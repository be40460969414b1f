/* funneld — connecting to the Redis a config names: over TCP
 * (redis.host, redis.port) or a Unix socket (redis.socket), for funneld's
 * store, its dashboard and funnelctl alike. */
#ifndef FUNNELD_REDIS_H
#define FUNNELD_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <sys/time.h>

#include "funneld/config.h"

/* Connects to conf's Redis: the Unix socket redis.socket when set, else
 * redis.host:redis.port. As hiredis's own connect: NULL only when out of
 * memory, else check ctx->err. */
redisContext *fd_redis_connect(const fd_config *conf, struct timeval timeout);

/* Where conf's Redis is, for messages: "unix socket PATH" or "HOST:PORT".
 * Returns buf. */
const char *fd_redis_where(const fd_config *conf, char *buf, size_t size);

/* The settings that point at another Redis, for messages. */
const char *fd_redis_settings(const fd_config *conf);

#endif
