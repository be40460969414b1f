/* Unit tests of the hot-path formatter against the C library's. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fdtest.h"
#include "fmt.h"
#include "resp.h"

/* fd_vfmt and vsnprintf into buffers of size, must agree exactly. */
static int same(size_t size, const char *fmt, ...)
{
        char a[256], b[256];
        va_list ap, bp;
        memset(a, 'x', sizeof(a));
        memset(b, 'x', sizeof(b));
        va_start(ap, fmt);
        va_copy(bp, ap);
        int na = fd_vfmt(a, size, fmt, ap);
        int nb = vsnprintf(b, size, fmt, bp);
        va_end(bp);
        va_end(ap);
        if (na != nb || memcmp(a, b, sizeof(a)) != 0) {
                fprintf(stderr,
                        "  '%s' size %zu: got %d '%.*s', want %d '%s'\n", fmt,
                        size, na, (int)sizeof(a), a, nb, b);
                return 0;
        }
        return 1;
}

/* fd_fmt_i64 writes what printf's %lld does. */
static void check_i64(int64_t v)
{
        char got[32], want[32];
        size_t n = fd_fmt_i64(got, v);
        got[n] = '\0';
        snprintf(want, sizeof(want), "%" PRId64, v);
        FD_CHECK_STR(got, want);
}

static void test_i64(void)
{
        const int64_t v[] = {0, 7, -7, 1234567890123LL, INT64_MAX, INT64_MIN};
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                check_i64(v[i]);
        /* Numbers of every bit length (a splitmix64 sequence, shifted). */
        uint64_t x = 1;
        for (int i = 0; i < 20000; i++) {
                x += UINT64_C(0x9e3779b97f4a7c15);
                uint64_t z = x;
                z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
                z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
                z ^= z >> 31;
                check_i64((int64_t)(z >> (i % 64)));
        }
}

/* Every power of ten, its neighbours and their negatives. */
static void test_i64_digits(void)
{
        for (uint64_t p = 1; p <= UINT64_C(1000000000000000000); p *= 10) {
                check_i64((int64_t)p - 1);
                check_i64((int64_t)p);
                check_i64((int64_t)p + 1);
                check_i64(-(int64_t)p);
        }
}

/* RESP bulk strings, with their lengths written in place. */
static void test_resp_args(void)
{
        fd_resp r = {0};
        char big[1000];

        memset(big, 'b', sizeof(big));
        FD_CHECK(fd_resp_cmd(&r, 4) == 0);
        FD_CHECK(fd_resp_str(&r, "HSET") == 0);
        FD_CHECK(fd_resp_arg(&r, "", 0) == 0);
        FD_CHECK(fd_resp_i64(&r, -1234567890123LL) == 0);
        FD_CHECK(fd_resp_arg(&r, big, sizeof(big)) == 0);
        const char *want = "*4\r\n$4\r\nHSET\r\n$0\r\n\r\n$14\r\n"
                           "-1234567890123\r\n$1000\r\n";
        size_t wl = strlen(want);
        FD_CHECK(r.buf.len == wl + sizeof(big) + 2);
        FD_CHECK(memcmp(r.buf.data, want, wl) == 0);
        FD_CHECK(memcmp(r.buf.data + wl, big, sizeof(big)) == 0);
        FD_CHECK(memcmp(r.buf.data + wl + sizeof(big), "\r\n", 3) == 0);
        FD_CHECK(r.cmd_cnt == 1);
        fd_resp_free(&r);
}

/* fd_resp_fmt writes the bulk string fd_resp_arg writes, for lengths
 * whose header is shorter, as long as, or longer than "$NN", and past its
 * in-place room. */
static void test_resp_fmt(void)
{
        static const size_t lens[] = {0, 1, 9, 10, 42, 99, 100, 511, 512, 999};
        char text[1000];

        for (size_t i = 0; i < sizeof(text); i++)
                text[i] = (char)('a' + i % 26);
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
                fd_resp a = {0}, b = {0};
                /* a few arguments before, so the buffer is not empty */
                FD_CHECK(fd_resp_str(&a, "SET") == 0);
                FD_CHECK(fd_resp_str(&b, "SET") == 0);
                FD_CHECK(fd_resp_fmt(&a, "%s", "") == 0);
                FD_CHECK(fd_resp_arg(&b, "", 0) == 0);
                char arg[sizeof(text) + 1];
                memcpy(arg, text, lens[i]);
                arg[lens[i]] = '\0';
                FD_CHECK(fd_resp_fmt(&a, "%s", arg) == 0);
                FD_CHECK(fd_resp_fmt(&a, "%s", "x") == 0);
                FD_CHECK(fd_resp_arg(&b, text, lens[i]) == 0);
                FD_CHECK(fd_resp_arg(&b, "x", 1) == 0);
                FD_CHECK(a.buf.len == b.buf.len);
                FD_CHECK(memcmp(a.buf.data, b.buf.data, b.buf.len + 1) == 0);
                fd_resp_free(&a);
                fd_resp_free(&b);
        }
}

/* fd_resp_i64 writes the bulk string of the number's digits, and
 * fd_resp_join the one of its parts joined, as fd_resp_arg does. */
static void test_resp_i64_and_join(void)
{
        static const int64_t vals[] = {0,
                                       7,
                                       -7,
                                       10,
                                       99,
                                       -100,
                                       1774746000123LL,
                                       999999999,
                                       1000000000,
                                       INT64_MAX,
                                       INT64_MIN};
        char num[32];
        fd_resp a = {0}, b = {0};

        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
                FD_CHECK(fd_resp_i64(&a, vals[i]) == 0);
                snprintf(num, sizeof(num), "%lld", (long long)vals[i]);
                FD_CHECK(fd_resp_arg(&b, num, strlen(num)) == 0);
        }
        const fd_sv parts[] = {FD_SV("fd"), FD_SV(":{"), FD_SV("acme"),
                               FD_SV("}:lead:"), FD_SV("L-1")};
        FD_CHECK(fd_resp_join(&a, 5, parts) == 0);
        FD_CHECK(fd_resp_join(&a, 1, parts) == 0);
        FD_CHECK(fd_resp_join(&a, 0, parts) == 0);
        FD_CHECK(fd_resp_str(&b, "fd:{acme}:lead:L-1") == 0);
        FD_CHECK(fd_resp_str(&b, "fd") == 0);
        FD_CHECK(fd_resp_str(&b, "") == 0);
        FD_CHECK_INT(a.buf.len, b.buf.len);
        FD_CHECK(memcmp(a.buf.data, b.buf.data, b.buf.len + 1) == 0);
        fd_resp_free(&a);
        fd_resp_free(&b);
}

/* A command begun before its arguments are counted gives the bytes of one
 * started with its count (1, 2 and 5 digit counts), and one ended with
 * no arguments leaves nothing of itself. */
static void test_resp_cmd_begin_end(void)
{
        static const int argcs[] = {1, 9, 10, 99, 100, 12345};

        for (size_t i = 0; i < sizeof(argcs) / sizeof(argcs[0]); i++) {
                fd_resp a = {0}, b = {0};
                FD_CHECK(fd_resp_strs(&a, 2, "GET", "k") == 0);
                FD_CHECK(fd_resp_strs(&b, 2, "GET", "k") == 0);
                size_t start = fd_resp_cmd_begin(&a);
                FD_CHECK(fd_resp_cmd(&b, argcs[i]) == 0);
                for (int k = 0; k < argcs[i]; k++) {
                        FD_CHECK(fd_resp_i64(&a, k) == 0);
                        FD_CHECK(fd_resp_i64(&b, k) == 0);
                }
                FD_CHECK(fd_resp_cmd_end(&a, start, argcs[i]) == 0);
                /* dropped: begun, given arguments, ended with 0 */
                start = fd_resp_cmd_begin(&a);
                FD_CHECK(fd_resp_str(&a, "HSET") == 0);
                FD_CHECK(fd_resp_cmd_end(&a, start, 0) == 0);
                FD_CHECK_INT(a.cmd_cnt, b.cmd_cnt);
                FD_CHECK_INT(a.buf.len, b.buf.len);
                FD_CHECK(memcmp(a.buf.data, b.buf.data, b.buf.len + 1) == 0);
                fd_resp_free(&a);
                fd_resp_free(&b);
        }
}

/* A transaction's answer taken value by value, whole or cut anywhere. */
static void test_resp_skim(void)
{
        static const char ans[] =
                "+OK\r\n+QUEUED\r\n-ERR wrong\r\n*4\r\n:-12\r\n"
                "$5\r\na\r\nbc\r\n$-1\r\n*0\r\n*-1\r\n";
        static const int types[] = {
                FD_RESP_STATUS, FD_RESP_STATUS,  FD_RESP_ERROR,
                FD_RESP_ARRAY,  FD_RESP_INTEGER, FD_RESP_STRING,
                FD_RESP_NIL,    FD_RESP_ARRAY,   FD_RESP_NIL};
        const size_t n = sizeof(ans) - 1, cnt = sizeof(types) / sizeof(*types);
        static const char *const bad[] = {"?x\r\n",         "$\r\n", "*12a\r\n",
                                          "$3\r\nabcd\r\n", "+OK\n", "*-2\r\n"};
        fd_resp_value v;
        size_t pos, i, cut;

        for (cut = 0; cut <= n; cut++) {
                /* the bytes up to cut first, then all: the same values */
                size_t got = 0;
                int rc;

                pos = 0;
                while ((rc = fd_resp_skim(ans, cut, &pos, &v)) == 1)
                        FD_CHECK_INT(v.type, types[got++]);
                FD_CHECK_INT(rc, 0);
                while (fd_resp_skim(ans, n, &pos, &v) == 1) {
                        FD_CHECK(got < cnt);
                        if (got == 2)
                                FD_CHECK(v.len == 9 &&
                                         memcmp(v.str, "ERR wrong", 9) == 0);
                        if (got == 3)
                                FD_CHECK_INT(v.more, 4);
                        if (got == 4)
                                FD_CHECK_INT(v.num, -12);
                        if (got == 5)
                                FD_CHECK(v.len == 5 &&
                                         memcmp(v.str, "a\r\nbc", 5) == 0);
                        FD_CHECK_INT(v.type, types[got++]);
                }
                FD_CHECK_INT(got, cnt);
                FD_CHECK_INT(pos, n);
        }
        for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
                pos = 0;
                FD_CHECK_INT(fd_resp_skim(bad[i], strlen(bad[i]), &pos, &v),
                             -1);
                FD_CHECK_INT(pos, 0);
        }
}

static void test_vfmt(void)
{
        FD_CHECK(same(256, "%s:{%s}:daily:%s", "fd", "acme", "mql"));
        FD_CHECK(same(256, "%s:outbox:%s:%d", "fd", "g", -3));
        FD_CHECK(same(256, "%lld|%zu|100%%", -42LL, (size_t)17));
        FD_CHECK(same(256, "no conversions"));
        FD_CHECK(same(256, ""));
        /* truncation: same result and same would-be length */
        FD_CHECK(same(8, "%s:%s", "abcdef", "ghijkl"));
        FD_CHECK(same(1, "%d", 12345));
        /* conversions it does not handle itself go to vsnprintf */
        FD_CHECK(same(256, "%s=%05.1f", "x", 3.14159));
        FD_CHECK(same(256, "%x-%s", 255u, "y"));
}

int main(void)
{
        FD_RUN(test_i64);
        FD_RUN(test_i64_digits);
        FD_RUN(test_resp_args);
        FD_RUN(test_resp_fmt);
        FD_RUN(test_resp_i64_and_join);
        FD_RUN(test_resp_cmd_begin_end);
        FD_RUN(test_resp_skim);
        FD_RUN(test_vfmt);
        return FD_DONE();
}
