/* funneld — RESP command encoding. */
#include "resp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fd_resp_reset(fd_resp *r)
{
        fd_buf_reset(&r->buf);
        r->cmd_cnt = 0;
}

void fd_resp_free(fd_resp *r)
{
        fd_buf_free(&r->buf);
        r->cmd_cnt = 0;
}

int fd_resp_cmd(fd_resp *r, int argc)
{
        char hdr[32];
        int n = snprintf(hdr, sizeof(hdr), "*%d\r\n", argc);
        r->cmd_cnt++;
        return fd_buf_append(&r->buf, hdr, (size_t)n);
}

int fd_resp_arg(fd_resp *r, const void *data, size_t len)
{
        char hdr[32];
        int n = snprintf(hdr, sizeof(hdr), "$%zu\r\n", len);
        if (fd_buf_append(&r->buf, hdr, (size_t)n) != 0 ||
            fd_buf_append(&r->buf, data, len) != 0 ||
            fd_buf_append(&r->buf, "\r\n", 2) != 0)
                return -1;
        return 0;
}

int fd_resp_str(fd_resp *r, const char *s)
{
        return fd_resp_arg(r, s, strlen(s));
}

int fd_resp_i64(fd_resp *r, int64_t v)
{
        char num[32];
        int n = snprintf(num, sizeof(num), "%lld", (long long)v);
        return fd_resp_arg(r, num, (size_t)n);
}

int fd_resp_fmt(fd_resp *r, const char *fmt, ...)
{
        char small[512];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(small, sizeof(small), fmt, ap);
        va_end(ap);
        if (n < 0)
                return -1;
        if ((size_t)n < sizeof(small))
                return fd_resp_arg(r, small, (size_t)n);
        /* Rare long argument: format again into a right-sized buffer. */
        char *big = malloc((size_t)n + 1);
        if (!big)
                return -1;
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        int rc = fd_resp_arg(r, big, (size_t)n);
        free(big);
        return rc;
}

int fd_resp_strs(fd_resp *r, int argc, ...)
{
        va_list ap;
        int rc = fd_resp_cmd(r, argc);
        va_start(ap, argc);
        for (int i = 0; i < argc && rc == 0; i++)
                rc = fd_resp_str(r, va_arg(ap, const char *));
        va_end(ap);
        return rc;
}
