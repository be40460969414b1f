/* funneld — fast formatting for the hot path. */
#include "fmt.h"

#include <stdio.h>
#include <string.h>

static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

static const uint64_t pow10_u64[20] = {UINT64_C(1),
                                       UINT64_C(10),
                                       UINT64_C(100),
                                       UINT64_C(1000),
                                       UINT64_C(10000),
                                       UINT64_C(100000),
                                       UINT64_C(1000000),
                                       UINT64_C(10000000),
                                       UINT64_C(100000000),
                                       UINT64_C(1000000000),
                                       UINT64_C(10000000000),
                                       UINT64_C(100000000000),
                                       UINT64_C(1000000000000),
                                       UINT64_C(10000000000000),
                                       UINT64_C(100000000000000),
                                       UINT64_C(1000000000000000),
                                       UINT64_C(10000000000000000),
                                       UINT64_C(100000000000000000),
                                       UINT64_C(1000000000000000000),
                                       UINT64_C(10000000000000000000)};

/* Decimal digits of u: log10 estimated from its bit length (1233 / 4096
 * is just above log10(2)), then one comparison (event times have 13
 * digits: a loop counted them one by one). */
static size_t digits10(uint64_t u)
{
        unsigned bits = 64 - (unsigned)__builtin_clzll(u | 1);
        unsigned t = (bits * 1233) >> 12;
        return t + 1 - (u < pow10_u64[t]);
}

/* The eight digits of v (< 10^8), zeros leading, at p. */
static inline void put8(char *p, uint32_t v)
{
        uint32_t hi = v / 10000, lo = v % 10000;
        memcpy(p, digit_pairs + hi / 100 * 2, 2);
        memcpy(p + 2, digit_pairs + hi % 100 * 2, 2);
        memcpy(p + 4, digit_pairs + lo / 100 * 2, 2);
        memcpy(p + 6, digit_pairs + lo % 100 * 2, 2);
}

/* Not in line: inlined into a caller with a small buffer (the
 * profile-guided build, scripts/pgo-build.sh, does), GCC loses track of
 * the digit loop's bound and warns of writes before out. */
__attribute__((noinline)) size_t fd_fmt_i64(char *out, int64_t v)
{
        /* Most numbers written are RESP lengths and counts under 100. */
        if (v >= 0 && v < 10) {
                out[0] = (char)('0' + v);
                return 1;
        }
        if (v >= 10 && v < 100) {
                out[0] = digit_pairs[v * 2];
                out[1] = digit_pairs[v * 2 + 1];
                return 2;
        }
        /* Negate in unsigned arithmetic: INT64_MIN has no positive twin. */
        uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
        size_t len;
        char *p;

        /* Count the digits, then write them in place from the right (a
         * copy from a scratch buffer became a memcpy call per number). */
        len = digits10(u) + (v < 0);
        if (v < 0)
                out[0] = '-';
        p = out + len;
        /* Eight digits per 64-bit division (event times have 13): their
         * four pairs come from 32-bit divisions that do not wait for each
         * other, where a pair per 64-bit division made one long chain. */
        while (u >= 100000000) {
                uint32_t lo = (uint32_t)(u % 100000000);
                u /= 100000000;
                p -= 8;
                put8(p, lo);
        }
        /* The rest, under 10^8: two digits per 32-bit division. */
        uint32_t w = (uint32_t)u;
        while (w >= 100) {
                uint32_t d = w % 100 * 2;

                w /= 100;
                *--p = digit_pairs[d + 1];
                *--p = digit_pairs[d];
        }
        if (w >= 10) {
                *--p = digit_pairs[w * 2 + 1];
                *--p = digit_pairs[w * 2];
        } else {
                *--p = (char)('0' + w);
        }
        return len;
}

/* Appends len bytes of s at pos, as far as size allows; returns the
 * position after them. (Positions are passed by value so that fd_vfmt
 * keeps its own in a register.) */
static size_t put(char *out, size_t size, size_t pos, const char *s, size_t len)
{
        if (pos < size) {
                size_t room = size - pos;
                memcpy(out + pos, s, len < room ? len : room);
        }
        return pos + len;
}

/* Appends v in decimal at pos: in place when there is room for any. */
static size_t put_i64(char *out, size_t size, size_t pos, int64_t v)
{
        char num[24];

        if (pos < size && size - pos > 21)
                return pos + fd_fmt_i64(out + pos, v);
        return put(out, size, pos, num, fd_fmt_i64(num, v));
}

int fd_vfmt(char *out, size_t size, const char *fmt, va_list ap)
{
        va_list copy;
        size_t pos = 0;
        int rc;

        va_copy(copy, ap);
        for (const char *p = fmt; *p; p++) {
                /* The text between conversions is short (":{", "}:daily:"):
                 * copied a byte at a time, not with a strchr and a memcpy
                 * call per run. */
                if (*p != '%') {
                        if (pos < size)
                                out[pos] = *p;
                        pos++;
                        continue;
                }
                p++;
                if (*p == 's') {
                        const char *s = va_arg(ap, const char *);
                        pos = put(out, size, pos, s, strlen(s));
                } else if (*p == 'd') {
                        pos = put_i64(out, size, pos, va_arg(ap, int));
                } else if (p[0] == 'l' && p[1] == 'l' && p[2] == 'd') {
                        pos = put_i64(out, size, pos, va_arg(ap, long long));
                        p += 2;
                } else if (p[0] == 'z' && p[1] == 'u') {
                        pos = put_i64(out, size, pos,
                                      (int64_t)va_arg(ap, size_t));
                        p += 1;
                } else if (*p == '%') {
                        pos = put(out, size, pos, "%", 1);
                } else { /* anything else: the C library does it all */
                        rc = vsnprintf(out, size, fmt, copy);
                        va_end(copy);
                        return rc;
                }
        }
        va_end(copy);
        if (size)
                out[pos < size ? pos : size - 1] = '\0';
        return pos > (size_t)INT32_MAX ? -1 : (int)pos;
}

int fd_fmt(char *out, size_t size, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = fd_vfmt(out, size, fmt, ap);
        va_end(ap);
        return n;
}
