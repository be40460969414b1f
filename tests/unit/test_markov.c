/* Unit tests for Markov-chain attribution (removal effect). */
#include "funneld/markov.h"

#include "fdtest.h"

#include <math.h>
#include <stdlib.h>

#define EPS      1e-12
#define MAXF     32
#define FIELDLEN 64

/* A stand-in for the Redis hash: field "from|to" -> count. */
typedef struct store {
        char field[MAXF][FIELDLEN];
        int64_t count[MAXF];
        size_t n;
} store;

static void hincrby(store *st, const char *from, const char *to, int64_t by)
{
        char f[FIELDLEN];
        size_t i;

        snprintf(f, sizeof(f), "%s|%s", from, to);
        for (i = 0; i < st->n; i++)
                if (strcmp(st->field[i], f) == 0)
                        break;
        if (i == st->n) {
                if (st->n == MAXF)
                        return;
                strcpy(st->field[st->n++], f);
        }
        st->count[i] += by;
}

/* Records a journey the way the writer does: one HINCRBY per step. */
static void record(store *st, const char *const *ch, size_t n, int converted)
{
        fd_markov_step steps[16];
        size_t i, cnt = fd_markov_journey(ch, n, converted, steps, 16);

        for (i = 0; i < cnt; i++)
                hincrby(st, steps[i].from, steps[i].to, 1);
}

/* Parses every field (HGETALL order reversed, to show order does not
 * matter) and computes; malformed fields are passed with NULL sides. */
static int compute(const store *st, fd_markov_result *res)
{
        fd_markov_edge edges[MAXF];
        char err[256] = "";
        size_t i;
        int rc;

        for (i = 0; i < st->n; i++) {
                fd_markov_edge *e = &edges[st->n - 1 - i];
                memset(e, 0, sizeof(*e));
                e->count = st->count[i];
                fd_markov_field_parse(st->field[i], strlen(st->field[i]), e);
        }
        rc = fd_markov_compute(edges, st->n, res, err, sizeof(err));
        if (rc != 0)
                fprintf(stderr, "compute: %d %s\n", rc, err);
        return rc;
}

#define CHECK_NEAR(a, b)                                                       \
        do {                                                                   \
                double fdt_x = (a), fdt_y = (b);                               \
                if (!(fabs(fdt_x - fdt_y) <= EPS)) {                           \
                        fprintf(stderr,                                        \
                                "%s:%d: %s == %.17g, expected %.17g\n",        \
                                __FILE__, __LINE__, #a, fdt_x, fdt_y);         \
                        fdt_failed = 1;                                        \
                }                                                              \
        } while (0)

/* Hand example 1 (acyclic). Journeys:
 *   A B -> conv,  A -> null,  B -> conv,  A B -> null,  C -> conv
 * Counts: start->A 3, start->B 1, start->C 1   (out 5)
 *         A->B 2, A->null 1                     (out 3)
 *         B->conv 2, B->null 1                  (out 3)
 *         C->conv 1                             (out 1)
 * x_C = 1, x_B = 2/3, x_A = 2/3 * x_B = 4/9
 * P = 3/5 * 4/9 + 1/5 * 2/3 + 1/5 * 1 = 12/45 + 6/45 + 9/45 = 3/5
 * without A (x_A = 0): P = 6/45 + 9/45 = 1/3   RE(A) = 1 - (1/3)/(3/5) = 4/9
 * without B (x_B = 0, so x_A = 0): P = 1/5     RE(B) = 1 - (1/5)/(3/5) = 2/3
 * without C: P = 12/45 + 6/45 = 2/5            RE(C) = 1 - (2/5)/(3/5) = 1/3
 * sum RE = 4/9 + 6/9 + 3/9 = 13/9: shares A 4/13, B 6/13, C 3/13.
 * Split of 1000: 307.69 / 461.54 / 230.77 -> floors 998, the 2 units go to
 * the largest remainders C (.77) and A (.69): 308 / 461 / 231. */
static void build_example1(store *st)
{
        const char *ab[] = {"A", "B"}, *a[] = {"A"}, *b[] = {"B"};
        const char *c[] = {"C"};

        memset(st, 0, sizeof(*st));
        record(st, ab, 2, 1);
        record(st, a, 1, 0);
        record(st, b, 1, 1);
        record(st, ab, 2, 0);
        record(st, c, 1, 1);
}

static void test_hand_example(void)
{
        store st;
        fd_markov_result res;
        int64_t parts[3];

        build_example1(&st);
        FD_CHECK_INT(st.n, 8);
        FD_CHECK_INT(compute(&st, &res), FD_MARKOV_OK);
        FD_CHECK_INT(res.channel_cnt, 3);
        FD_CHECK_INT(res.edges_used, 8);
        FD_CHECK_INT(res.edges_ignored, 0);
        if (res.channel_cnt != 3)
                return;
        FD_CHECK_STR(res.channels[0].name, "A");
        FD_CHECK_STR(res.channels[1].name, "B");
        FD_CHECK_STR(res.channels[2].name, "C");
        CHECK_NEAR(res.p_conversion, 3.0 / 5);
        CHECK_NEAR(res.channels[0].p_without, 1.0 / 3);
        CHECK_NEAR(res.channels[1].p_without, 1.0 / 5);
        CHECK_NEAR(res.channels[2].p_without, 2.0 / 5);
        CHECK_NEAR(res.channels[0].removal_effect, 4.0 / 9);
        CHECK_NEAR(res.channels[1].removal_effect, 2.0 / 3);
        CHECK_NEAR(res.channels[2].removal_effect, 1.0 / 3);
        CHECK_NEAR(res.channels[0].share, 4.0 / 13);
        CHECK_NEAR(res.channels[1].share, 6.0 / 13);
        CHECK_NEAR(res.channels[2].share, 3.0 / 13);
        FD_CHECK_INT(fd_markov_split(&res, 1000, parts), FD_MARKOV_OK);
        FD_CHECK_INT(parts[0], 308);
        FD_CHECK_INT(parts[1], 461);
        FD_CHECK_INT(parts[2], 231);
        fd_markov_result_free(&res);
        FD_CHECK_INT(res.channel_cnt, 0);
        fd_markov_result_free(&res); /* twice is fine */
}

/* Hand example 2 (a cycle and a self-loop). Journeys:
 *   A B A -> conv,  B -> null,  A -> null,  A A -> conv
 * Counts: start->A 3, start->B 1                  (out 4)
 *         A->B 1, A->A 1, A->conv 2, A->null 1     (out 5)
 *         B->A 1, B->null 1                        (out 2)
 * x_A = 1/5 x_B + 1/5 x_A + 2/5,  x_B = 1/2 x_A
 *   => 4 x_A = x_B + 2 = x_A / 2 + 2 => x_A = 4/7, x_B = 2/7
 * P = 3/4 * 4/7 + 1/4 * 2/7 = 1/2
 * without A: x_A = 0 so x_B = 0: P = 0               RE(A) = 1
 * without B: x_A = 1/5 x_A + 2/5 => x_A = 1/2, P = 3/8  RE(B) = 1/4
 * sum 5/4: shares A 4/5, B 1/5. Split of 999: 799.2 / 199.8 -> 799 / 200.
 * Without the self-loop A->A (out(A) = 4): x_A = x_B/4 + 1/2 gives the same
 * x_A = 4/7: the self-loop changes nothing. */
static void test_cycle_and_self_loop(void)
{
        const char *aba[] = {"A", "B", "A"}, *b[] = {"B"}, *a[] = {"A"};
        const char *aa[] = {"A", "A"};
        store st;
        fd_markov_result res;
        int64_t parts[2];
        size_t i;

        memset(&st, 0, sizeof(st));
        record(&st, aba, 3, 1);
        record(&st, b, 1, 0);
        record(&st, a, 1, 0);
        record(&st, aa, 2, 1);
        FD_CHECK_INT(compute(&st, &res), FD_MARKOV_OK);
        FD_CHECK_INT(res.channel_cnt, 2);
        if (res.channel_cnt != 2)
                return;
        CHECK_NEAR(res.p_conversion, 0.5);
        CHECK_NEAR(res.channels[0].p_without, 0.0);
        CHECK_NEAR(res.channels[1].p_without, 3.0 / 8);
        CHECK_NEAR(res.channels[0].removal_effect, 1.0);
        CHECK_NEAR(res.channels[1].removal_effect, 0.25);
        CHECK_NEAR(res.channels[0].share, 0.8);
        CHECK_NEAR(res.channels[1].share, 0.2);
        FD_CHECK_INT(fd_markov_split(&res, 999, parts), FD_MARKOV_OK);
        FD_CHECK_INT(parts[0], 799);
        FD_CHECK_INT(parts[1], 200);
        fd_markov_result_free(&res);

        /* Drop the self-loop count: same probabilities. */
        for (i = 0; i < st.n; i++)
                if (strcmp(st.field[i], "A|A") == 0)
                        st.count[i] = 0;
        FD_CHECK_INT(compute(&st, &res), FD_MARKOV_OK);
        FD_CHECK_INT(res.edges_ignored, 1); /* count 0 */
        if (res.channel_cnt == 2) {
                CHECK_NEAR(res.p_conversion, 0.5);
                CHECK_NEAR(res.channels[1].p_without, 3.0 / 8);
                CHECK_NEAR(res.channels[0].share, 0.8);
        }
        fd_markov_result_free(&res);
}

static void test_split_sums(void)
{
        store st;
        fd_markov_result res;
        int64_t parts[3], amounts[] = {1, 2, 7, 100, 12345, 999999999999LL};
        size_t i;

        build_example1(&st);
        FD_CHECK_INT(compute(&st, &res), FD_MARKOV_OK);
        for (i = 0; i < sizeof(amounts) / sizeof(amounts[0]); i++) {
                FD_CHECK_INT(fd_markov_split(&res, amounts[i], parts),
                             FD_MARKOV_OK);
                FD_CHECK_INT(parts[0] + parts[1] + parts[2], amounts[i]);
                FD_CHECK(parts[0] >= 0 && parts[1] >= 0 && parts[2] >= 0);
        }
        /* 1 unit: B has the largest share. */
        fd_markov_split(&res, 1, parts);
        FD_CHECK_INT(parts[1], 1);
        FD_CHECK_INT(fd_markov_split(&res, 0, parts), FD_MARKOV_OK);
        FD_CHECK_INT(parts[0] + parts[1] + parts[2], 0);
        fd_markov_result_free(&res);
}

static void test_journey_steps(void)
{
        const char *aab[] = {"A", "A", "B"}, *bad[] = {"A", "x|y"};
        const char *reserved[] = {"(null)"}, *empty[] = {""};
        fd_markov_step s[8];

        FD_CHECK_INT(fd_markov_journey(aab, 3, 1, s, 8), 4);
        FD_CHECK_STR(s[0].from, "(start)");
        FD_CHECK_STR(s[0].to, "A");
        FD_CHECK_STR(s[1].from, "A"); /* self-loop kept */
        FD_CHECK_STR(s[1].to, "A");
        FD_CHECK_STR(s[2].from, "A");
        FD_CHECK_STR(s[2].to, "B");
        FD_CHECK_STR(s[3].from, "B");
        FD_CHECK_STR(s[3].to, "(conversion)");
        FD_CHECK_INT(fd_markov_journey(aab, 1, 0, s, 8), 2);
        FD_CHECK_STR(s[0].to, "A");
        FD_CHECK_STR(s[1].from, "A");
        FD_CHECK_STR(s[1].to, "(null)");
        /* cap limits what is written, not what is returned. */
        s[2].from = NULL;
        FD_CHECK_INT(fd_markov_journey(aab, 3, 0, s, 2), 4);
        FD_CHECK(s[2].from == NULL);
        FD_CHECK_INT(fd_markov_journey(aab, 0, 1, s, 8), 0);
        FD_CHECK_INT(fd_markov_journey(NULL, 0, 1, s, 8), 0);
        FD_CHECK_INT(fd_markov_journey(bad, 2, 1, s, 8), 0);
        FD_CHECK_INT(fd_markov_journey(reserved, 1, 1, s, 8), 0);
        FD_CHECK_INT(fd_markov_journey(empty, 1, 1, s, 8), 0);
}

static void test_field_parse(void)
{
        static const char *const bad[] = {
                "",
                "A",
                "|",
                "A|",
                "|A",
                "A|B|C",
                "(start)|(conversion)",
                "(start)|(null)",
                "(null)|A",
                "(conversion)|A",
                "A|(start)",
                "(start)|(start)",
        };
        fd_markov_edge e;
        size_t i;

        memset(&e, 0, sizeof(e));
        FD_CHECK_INT(fd_markov_field_parse("A|B", 3, &e), 0);
        FD_CHECK(e.from_len == 1 && e.from[0] == 'A');
        FD_CHECK(e.to_len == 1 && e.to[0] == 'B');
        FD_CHECK_INT(fd_markov_field_parse("(start)|paid search", 19, &e), 0);
        FD_CHECK_INT(e.to_len, 11);
        FD_CHECK_INT(fd_markov_field_parse("email|(conversion)", 18, &e), 0);
        FD_CHECK_INT(fd_markov_field_parse("email|(null)", 12, &e), 0);
        FD_CHECK_INT(fd_markov_field_parse("email|email", 11, &e), 0);
        /* Length, not NUL, ends the field. */
        FD_CHECK_INT(fd_markov_field_parse("A|BXYZ", 3, &e), 0);
        FD_CHECK_INT(e.to_len, 1);
        FD_CHECK_INT(fd_markov_field_parse("A|B\0C", 5, &e), -1);
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (fd_markov_field_parse(bad[i], strlen(bad[i]), &e) != -1) {
                        fprintf(stderr, "accepted malformed \"%s\"\n", bad[i]);
                        fdt_failed = 1;
                }
        FD_CHECK_INT(fd_markov_field_parse(NULL, 0, &e), -1);
}

static fd_markov_edge edge(const char *from, const char *to, int64_t count)
{
        fd_markov_edge e = {from, from ? strlen(from) : 0, to,
                            to ? strlen(to) : 0, count};

        return e;
}

static void test_no_edges(void)
{
        fd_markov_result res;
        int64_t parts[1] = {42};
        char err[128];

        FD_CHECK_INT(fd_markov_compute(NULL, 0, &res, err, sizeof(err)), 0);
        FD_CHECK_INT(res.channel_cnt, 0);
        CHECK_NEAR(res.p_conversion, 0.0);
        FD_CHECK_INT(fd_markov_split(&res, 100, parts), FD_MARKOV_ENOCREDIT);
        fd_markov_result_free(&res);
}

static void test_no_conversions(void)
{
        const fd_markov_edge edges[] = {
                edge("(start)", "A", 5), edge("A", "B", 2),
                edge("A", "(null)", 3), edge("B", "(null)", 2)};
        fd_markov_result res;
        int64_t parts[2] = {7, 7};
        size_t i;

        FD_CHECK_INT(fd_markov_compute(edges, 4, &res, NULL, 0), 0);
        FD_CHECK_INT(res.channel_cnt, 2);
        CHECK_NEAR(res.p_conversion, 0.0);
        for (i = 0; i < res.channel_cnt; i++) {
                CHECK_NEAR(res.channels[i].removal_effect, 0.0);
                CHECK_NEAR(res.channels[i].share, 0.0);
        }
        FD_CHECK_INT(fd_markov_split(&res, 100, parts), FD_MARKOV_ENOCREDIT);
        FD_CHECK_INT(parts[0] + parts[1], 0);
        fd_markov_result_free(&res);
}

/* Garbage among example 1's edges changes nothing. */
static void test_garbage_ignored(void)
{
        store st;
        fd_markov_edge edges[MAXF + 16];
        fd_markov_result res;
        char err[128];
        size_t i, n = 0;

        build_example1(&st);
        edges[n++] = edge("A|B", "C", 4);
        edges[n++] = edge(NULL, "A", 4);
        edges[n++] = edge("A", NULL, 4);
        edges[n++] = edge("(conversion)", "A", 9);
        edges[n++] = edge("(start)", "(conversion)", 9);
        edges[n++] = edge("A", "(start)", 9);
        edges[n++] = edge("", "A", 9);
        edges[n++] = edge("A", "Z", -3); /* negative: no channel Z */
        edges[n++] = edge("A", "Y", 0);
        for (i = 0; i < st.n; i++) {
                memset(&edges[n], 0, sizeof(edges[n]));
                FD_CHECK_INT(fd_markov_field_parse(st.field[i],
                                                   strlen(st.field[i]),
                                                   &edges[n]),
                             0);
                edges[n++].count = st.count[i];
        }
        FD_CHECK_INT(fd_markov_compute(edges, n, &res, err, sizeof(err)), 0);
        FD_CHECK_INT(res.edges_ignored, 9);
        FD_CHECK_INT(res.edges_used, 8);
        FD_CHECK_INT(res.channel_cnt, 3);
        if (res.channel_cnt == 3) {
                CHECK_NEAR(res.p_conversion, 0.6);
                CHECK_NEAR(res.channels[0].share, 4.0 / 13);
                CHECK_NEAR(res.channels[2].share, 3.0 / 13);
        }
        fd_markov_result_free(&res);
}

/* Duplicated fields add up: start->A 3 given as 1 + 2. */
static void test_duplicates_add(void)
{
        const fd_markov_edge edges[] = {
                edge("A", "(conversion)", 1), edge("(start)", "A", 1),
                edge("A", "(null)", 3),       edge("(start)", "A", 2),
                edge("B", "(conversion)", 1), edge("(start)", "B", 1)};
        fd_markov_result res;

        FD_CHECK_INT(fd_markov_compute(edges, 6, &res, NULL, 0), 0);
        /* P = 3/4 * 1/4 + 1/4 * 1 = 7/16; without A: 1/4 -> RE 3/7;
         * without B: 3/16 -> RE 4/7; the shares are the same (sum 1). */
        CHECK_NEAR(res.p_conversion, 7.0 / 16);
        if (res.channel_cnt == 2) {
                CHECK_NEAR(res.channels[0].removal_effect, 3.0 / 7);
                CHECK_NEAR(res.channels[1].removal_effect, 4.0 / 7);
                CHECK_NEAR(res.channels[0].share, 3.0 / 7);
                CHECK_NEAR(res.channels[1].share, 4.0 / 7);
        }
        fd_markov_result_free(&res);
}

/* D is reached only through A; X is unreachable from (start); E is a dead
 * end (no outgoing count). Removing A makes D unreachable.
 *   start->A 1, start->B 1; A->D 1; D->conv 1; D->E 1 (E: dead end);
 *   B->conv 1, B->null 1; X->conv 5
 * x_D = 1/2, x_A = 1/2, x_B = 1/2: P = 1/2.
 * without A: 1/4 (RE 1/2); without B: 1/4 (RE 1/2); without D: 1/4
 * (RE 1/2); E, X: RE 0. Shares: A, B, D 1/3 each. */
static void test_reachability(void)
{
        const fd_markov_edge edges[] = {
                edge("(start)", "A", 1), edge("(start)", "B", 1),
                edge("A", "D", 1),       edge("D", "(conversion)", 1),
                edge("D", "E", 1),       edge("B", "(conversion)", 1),
                edge("B", "(null)", 1),  edge("X", "(conversion)", 5)};
        fd_markov_result res;
        char err[128];

        FD_CHECK_INT(fd_markov_compute(edges, 8, &res, err, sizeof(err)), 0);
        FD_CHECK_INT(res.channel_cnt, 5);
        if (res.channel_cnt != 5)
                return;
        FD_CHECK_STR(res.channels[2].name, "D");
        FD_CHECK_STR(res.channels[4].name, "X");
        CHECK_NEAR(res.p_conversion, 0.5);
        CHECK_NEAR(res.channels[0].removal_effect, 0.5);
        CHECK_NEAR(res.channels[1].removal_effect, 0.5);
        CHECK_NEAR(res.channels[2].removal_effect, 0.5);
        CHECK_NEAR(res.channels[3].removal_effect, 0.0); /* E */
        CHECK_NEAR(res.channels[4].removal_effect, 0.0); /* X */
        CHECK_NEAR(res.channels[4].p_without, 0.5);
        CHECK_NEAR(res.channels[0].share, 1.0 / 3);
        CHECK_NEAR(res.channels[4].share, 0.0);
        fd_markov_result_free(&res);
}

/* A loop with no way out reachable from (start) is an error; the same loop
 * unreachable from (start) is harmless. */
static void test_singular(void)
{
        const fd_markov_edge stuck[] = {
                edge("(start)", "A", 1), edge("A", "B", 1), edge("B", "A", 1),
                edge("(start)", "C", 1), edge("C", "(conversion)", 1)};
        const fd_markov_edge aside[] = {edge("(start)", "C", 1),
                                        edge("C", "(conversion)", 1),
                                        edge("A", "B", 1), edge("B", "A", 1)};
        fd_markov_result res;
        char err[256] = "";

        FD_CHECK_INT(fd_markov_compute(stuck, 5, &res, err, sizeof(err)),
                     FD_MARKOV_ESINGULAR);
        FD_CHECK(strstr(err, "rebuild") != NULL);
        FD_CHECK_INT(res.channel_cnt, 0);
        FD_CHECK(res.channels == NULL);
        FD_CHECK_INT(fd_markov_compute(aside, 4, &res, err, sizeof(err)), 0);
        CHECK_NEAR(res.p_conversion, 1.0);
        if (res.channel_cnt == 3) {
                CHECK_NEAR(res.channels[0].share, 0.0); /* A */
                CHECK_NEAR(res.channels[2].share, 1.0); /* C */
        }
        fd_markov_result_free(&res);
}

enum { K = 40, KOUT = 5 };

/* Channel i of the larger chain goes to (i*7+3)%K (count 3), (i*3+1)%K
 * (count 1 + i%2), itself (count i%4), (conversion) (1 + i%3) and (null)
 * (2); (start) goes to channel i with count i + 1. */
static int64_t big_count(size_t i, size_t slot)
{
        static const int64_t fixed[KOUT] = {3, 1, 0, 1, 2};

        if (slot == 1)
                return 1 + (int64_t)(i % 2);
        if (slot == 2)
                return (int64_t)(i % 4);
        if (slot == 3)
                return 1 + (int64_t)(i % 3);
        return fixed[slot];
}

static size_t big_target(size_t i, size_t slot)
{
        return slot == 0 ? (i * 7 + 3) % K : slot == 1 ? (i * 3 + 1) % K : i;
}

/* Reference: P(conversion) with channel removed (K: none) by plain value
 * iteration with the transitions into removed sent to (null). Every state
 * exits with probability >= 3/13 per step, so 400 rounds reach 1e-45. */
static double big_reference(size_t removed)
{
        double x[K], nx[K], out, p = 0, tot = 0;
        size_t i, s, r;

        for (i = 0; i < K; i++)
                x[i] = 0;
        for (r = 0; r < 400; r++) {
                for (i = 0; i < K; i++) {
                        out = nx[i] = 0;
                        for (s = 0; s < KOUT; s++)
                                out += (double)big_count(i, s);
                        for (s = 0; s < 3; s++)
                                if (big_target(i, s) != removed)
                                        nx[i] += (double)big_count(i, s) *
                                                 x[big_target(i, s)] / out;
                        nx[i] += (double)big_count(i, 3) / out;
                }
                memcpy(x, nx, sizeof(x));
        }
        for (i = 0; i < K; i++) {
                tot += (double)(i + 1);
                if (i != removed)
                        p += (double)(i + 1) * x[i];
        }
        return p / tot;
}

/* Many channels with cycles and self-loops: the LU / first-passage result
 * matches a direct removal by value iteration, shares sum to 1. */
static void test_larger_chain(void)
{
        static char names[K][8];
        static const char *const ends[KOUT] = {NULL, NULL, NULL, "(conversion)",
                                               "(null)"};
        fd_markov_edge edges[(KOUT + 1) * K];
        fd_markov_result res;
        double sum = 0, p;
        size_t i, s, n = 0;

        for (i = 0; i < K; i++)
                snprintf(names[i], sizeof(names[i]), "c%02zu", i);
        for (i = 0; i < K; i++) {
                edges[n++] = edge("(start)", names[i], (int64_t)i + 1);
                for (s = 0; s < KOUT; s++)
                        edges[n++] = edge(names[i],
                                          ends[s] ? ends[s]
                                                  : names[big_target(i, s)],
                                          big_count(i, s));
        }
        FD_CHECK_INT(fd_markov_compute(edges, n, &res, NULL, 0), 0);
        FD_CHECK_INT(res.channel_cnt, K);
        if (res.channel_cnt != K)
                return;
        p = big_reference(K);
        CHECK_NEAR(res.p_conversion, p);
        FD_CHECK(p > 0 && p < 1);
        for (i = 0; i < K; i++) {
                CHECK_NEAR(res.channels[i].p_without, big_reference(i));
                CHECK_NEAR(res.channels[i].removal_effect,
                           1 - big_reference(i) / p);
                sum += res.channels[i].share;
        }
        CHECK_NEAR(sum, 1.0);
        fd_markov_result_free(&res);
}

int main(void)
{
        FD_RUN(test_hand_example);
        FD_RUN(test_cycle_and_self_loop);
        FD_RUN(test_split_sums);
        FD_RUN(test_journey_steps);
        FD_RUN(test_field_parse);
        FD_RUN(test_no_edges);
        FD_RUN(test_no_conversions);
        FD_RUN(test_garbage_ignored);
        FD_RUN(test_duplicates_add);
        FD_RUN(test_reachability);
        FD_RUN(test_singular);
        FD_RUN(test_larger_chain);
        return FD_DONE();
}
