/* funneld — building pipelines of Redis commands as raw RESP.
 *
 * A batch's writes are encoded straight into one buffer (no per-command
 * allocation) and sent to Redis from it in one go (store.c). */
#ifndef FD_RESP_H
#define FD_RESP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "funneld/codec.h"

typedef struct fd_resp {
        fd_buf buf;
        size_t cmd_cnt;
} fd_resp;

void fd_resp_reset(fd_resp *r);
void fd_resp_free(fd_resp *r);

/* Starts a command of argc arguments; the caller then adds exactly argc
 * arguments with fd_resp_arg/_str/_i64/_fmt. Returns 0 or -1 on OOM. */
int fd_resp_cmd(fd_resp *r, int argc);
/* A command whose number of arguments is known only after they are added:
 * fd_resp_cmd_begin leaves room for its "*argc" line and returns where it
 * starts; fd_resp_cmd_end writes it there (argc at most 99999), or drops
 * the command and its arguments when argc is 0. */
size_t fd_resp_cmd_begin(fd_resp *r);
int fd_resp_cmd_end(fd_resp *r, size_t start, int argc);
int fd_resp_arg(fd_resp *r, const void *data, size_t len);
/* One argument made of the cnt strings of parts joined (key names: no
 * format to parse). */
int fd_resp_join(fd_resp *r, size_t cnt, const char *const *parts);
/* Inline: the length of a literal is known where it is written. */
static inline int fd_resp_str(fd_resp *r, const char *s)
{
        return fd_resp_arg(r, s, strlen(s));
}
int fd_resp_i64(fd_resp *r, int64_t v);
int fd_resp_fmt(fd_resp *r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Whole commands of string arguments: fd_resp_strs(r, 3, "HSET", k, v). */
int fd_resp_strs(fd_resp *r, int argc, ...);

#endif
