/* funneld — RESP command encoding. */
#include "resp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"

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

/* Writes "<kind><len>\r\n" at out (at most 23 bytes): a command's "*argc"
 * or an argument's "$len"; returns its length. */
static inline size_t length_line(char *out, char kind, size_t len)
{
        size_t n = 1;
        out[0] = kind;
        /* Most lengths have one or two digits: no call for those. */
        if (len < 10) {
                out[n++] = (char)('0' + len);
        } else if (len < 100) {
                out[n++] = (char)('0' + len / 10);
                out[n++] = (char)('0' + len % 10);
        } else {
                n += fd_fmt_i64(out + n, (int64_t)len);
        }
        out[n++] = '\r';
        out[n++] = '\n';
        return n;
}

int fd_resp_cmd(fd_resp *r, int argc)
{
        char hdr[32];
        r->cmd_cnt++;
        return fd_buf_append(&r->buf, hdr, length_line(hdr, '*', (size_t)argc));
}

/* The room fd_resp_cmd_begin leaves: "*99999\r\n". */
#define CMD_ROOM 8

size_t fd_resp_cmd_begin(fd_resp *r)
{
        size_t start = r->buf.len;
        if (fd_buf_ensure(&r->buf, CMD_ROOM) != 0)
                return SIZE_MAX; /* out of memory: fd_resp_cmd_end fails */
        r->buf.len += CMD_ROOM;  /* filled by fd_resp_cmd_end */
        r->buf.data[r->buf.len] = '\0';
        return start;
}

int fd_resp_cmd_end(fd_resp *r, size_t start, int argc)
{
        char hdr[32];
        size_t h, at = start + CMD_ROOM;

        if (start == SIZE_MAX)
                return -1;
        if (argc <= 0) { /* dropped, with its arguments */
                r->buf.len = start;
                r->buf.data[start] = '\0';
                return 0;
        }
        if (argc > 99999 ||
            (h = length_line(hdr, '*', (size_t)argc)) > CMD_ROOM)
                return -1;
        memmove(r->buf.data + start + h, r->buf.data + at, r->buf.len - at + 1);
        memcpy(r->buf.data + start, hdr, h);
        r->buf.len -= CMD_ROOM - h;
        r->cmd_cnt++;
        return 0;
}

/* "$<len>\r\n<data>\r\n", written with one capacity check (any length;
 * fd_resp_arg writes the usual ones in line). */
int fd_resp_arg_long(fd_resp *r, const void *data, size_t len)
{
        /* The header is written in place: room for the longest length
         * (1 + 20 digits + 2) is reserved with the rest. */
        if (len > SIZE_MAX - 32 || fd_buf_ensure(&r->buf, 25 + len) != 0)
                return -1;
        char *end = r->buf.data + r->buf.len;
        size_t n = length_line(end, '$', len);
        fd_copy(end + n, data, len);
        end[n + len] = '\r';
        end[n + len + 1] = '\n';
        r->buf.len += n + len + 2;
        r->buf.data[r->buf.len] = '\0';
        return 0;
}

int fd_resp_i64(fd_resp *r, int64_t v)
{
        /* "$<n>\r\n<digits>\r\n" in place: n is at most 20 (two digits),
         * and the digits' fixed-size copy stays within the room ensured. */
        char num[24] = {0}; /* all of it is copied */
        size_t n = fd_fmt_i64(num, v), h = 1;
        if (fd_buf_ensure(&r->buf, 5 + sizeof(num) + 2) != 0)
                return -1;
        char *at = r->buf.data + r->buf.len;
        at[0] = '$';
        if (n >= 10)
                at[h++] = (char)('0' + n / 10);
        at[h++] = (char)('0' + n % 10);
        at[h++] = '\r';
        at[h++] = '\n';
        memcpy(at + h, num, sizeof(num));
        at[h + n] = '\r';
        at[h + n + 1] = '\n';
        r->buf.len += h + n + 2;
        r->buf.data[r->buf.len] = '\0';
        return 0;
}

int fd_resp_join(fd_resp *r, size_t cnt, const fd_sv *parts)
{
        /* As fd_resp_arg: the header written in place, room reserved for
         * the longest. */
        size_t total = 0;
        for (size_t i = 0; i < cnt; i++)
                total += parts[i].n;
        if (total > SIZE_MAX - 32 || fd_buf_ensure(&r->buf, 25 + total) != 0)
                return -1;
        char *start = r->buf.data + r->buf.len;
        char *at = start + length_line(start, '$', total);
        for (size_t i = 0; i < cnt; i++) {
                fd_copy(at, parts[i].s, parts[i].n);
                at += parts[i].n;
        }
        at[0] = '\r';
        at[1] = '\n';
        at[2] = '\0';
        r->buf.len += (size_t)(at + 2 - start);
        return 0;
}

int fd_resp_fmt(fd_resp *r, const char *fmt, ...)
{
        /* Formatted straight into the buffer, after room for the "$NN\r\n"
         * header of a 10-99 byte argument (keys mostly are); another
         * length moves the text by a byte or two. */
        enum { HDR = 5, ROOM = 512 };
        va_list ap;
        if (fd_buf_ensure(&r->buf, HDR + ROOM + 8) != 0)
                return -1;
        char *at = r->buf.data + r->buf.len;
        va_start(ap, fmt);
        int n = fd_vfmt(at + HDR, ROOM, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -1;
        if (n < ROOM) {
                char hdr[8]; /* "$511\r\n" at most */
                size_t h = length_line(hdr, '$', (size_t)n);
                if (h != HDR)
                        memmove(at + h, at + HDR, (size_t)n);
                memcpy(at, hdr, h);
                at[h + (size_t)n] = '\r';
                at[h + (size_t)n + 1] = '\n';
                r->buf.len += h + (size_t)n + 2;
                r->buf.data[r->buf.len] = '\0';
                return 0;
        }
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

int fd_resp_skim(const char *buf, size_t len, size_t *pos, fd_resp_value *v)
{
        const char *p = buf + *pos, *end = buf + len, *q, *digits, *nl;
        long long num = 0;
        int neg = 0;

        if (p >= end)
                return 0;
        *v = (fd_resp_value){0};
        switch (*p) {
        case '+':
        case '-':
                if (!(nl = memchr(p, '\n', (size_t)(end - p))))
                        return 0;
                if (nl[-1] != '\r')
                        return -1;
                v->type = *p == '+' ? FD_RESP_STATUS : FD_RESP_ERROR;
                v->str = p + 1;
                v->len = (size_t)(nl - 1 - v->str);
                break;
        case ':':
        case '$':
        case '*':
                /* the number is read as the line is searched: most values
                 * of an answer are integers and bulk strings */
                q = p + 1;
                if (q < end && *q == '-') {
                        neg = 1;
                        q++;
                }
                for (digits = q; q < end && *q >= '0' && *q <= '9'; q++) {
                        if (q - digits == 18)
                                return -1;
                        num = num * 10 + (*q - '0');
                }
                if (end - q < 2) /* the line is not all here, or wrong */
                        return q == end || *q == '\r' ? 0 : -1;
                if (q == digits || q[0] != '\r' || q[1] != '\n')
                        return -1;
                nl = q + 1;
                if (*p == ':') {
                        v->type = FD_RESP_INTEGER;
                        v->num = neg ? -num : num;
                } else if (neg) {
                        if (num != 1)
                                return -1;
                        v->type = FD_RESP_NIL;
                } else if (*p == '*') {
                        v->type = FD_RESP_ARRAY;
                        v->more = num;
                } else if (end - (nl + 1) < num + 2) {
                        return 0; /* the string's bytes are not all here */
                } else if (nl[num + 1] != '\r' || nl[num + 2] != '\n') {
                        return -1;
                } else {
                        v->type = FD_RESP_STRING;
                        v->str = nl + 1;
                        v->len = (size_t)num;
                        nl += num + 2;
                }
                break;
        default:
                return -1;
        }
        *pos = (size_t)(nl + 1 - buf);
        return 1;
}
