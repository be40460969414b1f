/* funneld — logging through one level-checked macro.
 *
 * Lines go to stderr as "2026-11-26T11:20:00.123Z LEVEL module: message", or
 * as one JSON object per line when fd_log_set_json(1). librdkafka's log
 * callback is routed here (fd_log_rdkafka_cb). */
#ifndef FD_LOG_H
#define FD_LOG_H

typedef enum fd_log_level {
        FD_LOG_ERROR = 0,
        FD_LOG_WARN,
        FD_LOG_INFO,
        FD_LOG_DEBUG,
} fd_log_level;

extern fd_log_level fd_log_threshold;

/* Parses "error", "warn", "info", "debug"; returns -1 when unknown. */
int fd_log_level_parse(const char *name);
void fd_log_set_json(int on);

void fd_log_write(fd_log_level level, const char *module, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#define FD_LOG(level, module, ...)                                             \
        do {                                                                   \
                if ((level) <= fd_log_threshold)                               \
                        fd_log_write((level), (module), __VA_ARGS__);          \
        } while (0)

#define FD_ERROR(module, ...) FD_LOG(FD_LOG_ERROR, module, __VA_ARGS__)
#define FD_WARN(module, ...)  FD_LOG(FD_LOG_WARN, module, __VA_ARGS__)
#define FD_INFO(module, ...)  FD_LOG(FD_LOG_INFO, module, __VA_ARGS__)
#define FD_DEBUG(module, ...) FD_LOG(FD_LOG_DEBUG, module, __VA_ARGS__)

/* librdkafka log_cb signature (syslog levels). */
struct rd_kafka_s;
void fd_log_rdkafka_cb(const struct rd_kafka_s *rk, int level, const char *fac,
                       const char *buf);

#endif
