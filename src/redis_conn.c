/* funneld — connecting to the Redis a config names (funneld/redis.h). */
#include "funneld/redis.h"

#include <stdio.h>

redisContext *fd_redis_connect(const fd_config *conf, struct timeval timeout)
{
        if (conf->redis_socket)
                return redisConnectUnixWithTimeout(conf->redis_socket, timeout);
        return redisConnectWithTimeout(conf->redis_host, conf->redis_port,
                                       timeout);
}

const char *fd_redis_where(const fd_config *conf, char *buf, size_t size)
{
        if (conf->redis_socket)
                snprintf(buf, size, "unix socket %s", conf->redis_socket);
        else
                snprintf(buf, size, "%s:%d", conf->redis_host,
                         conf->redis_port);
        return buf;
}

const char *fd_redis_settings(const fd_config *conf)
{
        return conf->redis_socket ? "redis.socket" : "redis.host/redis.port";
}
