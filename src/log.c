/* funneld — logging. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

fd_log_level fd_log_threshold = FD_LOG_INFO;
static int log_json;

static const char *level_names[] = {"error", "warn", "info", "debug"};

int fd_log_level_parse(const char *name)
{
        for (int i = 0; i < 4; i++)
                if (strcasecmp(name, level_names[i]) == 0)
                        return i;
        return -1;
}

void fd_log_set_json(int on)
{
        log_json = on;
}

static void json_escape(FILE *fp, const char *s)
{
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        fprintf(fp, "\\%c", c);
                else if (c < 0x20)
                        fprintf(fp, "\\u%04x", c);
                else
                        fputc(c, fp);
        }
}

void fd_log_write(fd_log_level level, const char *module, const char *fmt, ...)
{
        char msg[2048], ts[96];
        struct timespec now;
        struct tm tm;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (int)(now.tv_nsec / 1000000));
        flockfile(stderr);
        if (log_json) {
                fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"",
                        ts, level_names[level]);
                json_escape(stderr, module);
                fputs("\",\"msg\":\"", stderr);
                json_escape(stderr, msg);
                fputs("\"}\n", stderr);
        } else {
                fprintf(stderr, "%s %-5s %s: %s\n", ts, level_names[level],
                        module, msg);
        }
        funlockfile(stderr);
}

void fd_log_rdkafka_cb(const struct rd_kafka_s *rk, int level, const char *fac,
                       const char *buf)
{
        fd_log_level l = level <= 3   ? FD_LOG_ERROR
                         : level <= 4 ? FD_LOG_WARN
                         : level <= 6 ? FD_LOG_INFO
                                      : FD_LOG_DEBUG;
        (void)rk;
        FD_LOG(l, "kafka", "%s: %s", fac, buf);
}
