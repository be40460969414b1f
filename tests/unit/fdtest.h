/* A minimal unit-test harness: each tests/unit/test_*.c is one executable
 * whose main() calls FD_RUN(test_fn) for each case and returns FD_DONE(). */
#ifndef FDTEST_H
#define FDTEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int fdt_failed;
static int fdt_cases_failed;
static int fdt_cases;

#define FD_CHECK(cond)                                                         \
        do {                                                                   \
                if (!(cond)) {                                                 \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
                                __LINE__, #cond);                              \
                        fdt_failed = 1;                                        \
                }                                                              \
        } while (0)

#define FD_CHECK_INT(a, b)                                                     \
        do {                                                                   \
                long long fdt_a = (long long)(a), fdt_b = (long long)(b);      \
                if (fdt_a != fdt_b) {                                          \
                        fprintf(stderr,                                        \
                                "%s:%d: %s == %lld, expected %s == %lld\n",    \
                                __FILE__, __LINE__, #a, fdt_a, #b, fdt_b);     \
                        fdt_failed = 1;                                        \
                }                                                              \
        } while (0)

#define FD_CHECK_STR(a, b)                                                     \
        do {                                                                   \
                const char *fdt_a = (a), *fdt_b = (b);                         \
                if (!fdt_a || !fdt_b || strcmp(fdt_a, fdt_b) != 0) {           \
                        fprintf(stderr,                                        \
                                "%s:%d: %s == \"%s\", expected \"%s\"\n",      \
                                __FILE__, __LINE__, #a,                        \
                                fdt_a ? fdt_a : "(null)",                      \
                                fdt_b ? fdt_b : "(null)");                     \
                        fdt_failed = 1;                                        \
                }                                                              \
        } while (0)

#define FD_RUN(fn)                                                             \
        do {                                                                   \
                fdt_failed = 0;                                                \
                fdt_cases++;                                                   \
                fn();                                                          \
                printf("%s %s\n", fdt_failed ? "FAIL" : "ok  ", #fn);          \
                fdt_cases_failed += fdt_failed;                                \
        } while (0)

#define FD_DONE()                                                              \
        (printf("%d passed, %d failed\n", fdt_cases - fdt_cases_failed,        \
                fdt_cases_failed),                                             \
         fdt_cases_failed ? 1 : 0)

#endif
