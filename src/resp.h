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
/* One argument of len bytes. The usual one, under 100 bytes with room
 * for it in the buffer, is written in line (some 15 per event: a call
 * each was 2 % of the main thread's instructions); the rest by
 * fd_resp_arg_long. */
int fd_resp_arg_long(fd_resp *r, const void *data, size_t len);
static inline int fd_resp_arg(fd_resp *r, const void *data, size_t len)
{
        if (len >= 100 || len + 8 > r->buf.cap - r->buf.len)
                return fd_resp_arg_long(r, data, len);
        char *end = r->buf.data + r->buf.len;
        size_t n = 1;
        end[0] = '$';
        if (len < 10) {
                end[n++] = (char)('0' + len);
        } else {
                end[n++] = (char)('0' + len / 10);
                end[n++] = (char)('0' + len % 10);
        }
        end[n++] = '\r';
        end[n++] = '\n';
        fd_copy(end + n, data, len);
        end[n + len] = '\r';
        end[n + len + 1] = '\n';
        end[n + len + 2] = '\0';
        r->buf.len += n + len + 2;
        return 0;
}
/* One argument made of the cnt parts joined (key names: no format to
 * parse). */
int fd_resp_join(fd_resp *r, size_t cnt, const fd_sv *parts);
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

/* ---- reading RESP2 answers without building them ---- */

enum {
        FD_RESP_STATUS = 1,
        FD_RESP_ERROR,
        FD_RESP_INTEGER,
        FD_RESP_STRING,
        FD_RESP_ARRAY,
        FD_RESP_NIL
};

typedef struct fd_resp_value {
        int type;        /* FD_RESP_*; NIL for "$-1" and "*-1" */
        long long more;  /* an array's elements, which follow it */
        long long num;   /* an integer's value */
        const char *str; /* a status's, error's or string's bytes, in the
                            buffer (not NUL-terminated) */
        size_t len;
} fd_resp_value;

/* Takes the value at buf[*pos..len): an array's first line only, a bulk
 * string with its bytes. Returns 1 (*pos moved past it), 0 when buf does
 * not hold all of it yet (nothing taken), or -1 for bytes that are not
 * RESP2. */
int fd_resp_skim(const char *buf, size_t len, size_t *pos, fd_resp_value *v);

#endif
