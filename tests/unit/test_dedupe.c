/* Unit tests of the event-id dedupe generations (dedupe.h). */
#include <string.h>

#include "dedupe.h"
#include "fdtest.h"
#include "funneld/timebucket.h"

#define MIN_MS  (60 * 1000LL)
#define WEEK_MS (7 * FD_DAY_MS)
#define GEN_MS  (FD_DEDUPE_GEN_DAYS * FD_DAY_MS)

/* 2026-11-27T00:00Z, the first day of generation 5196. */
static int64_t gen_start(void)
{
        return fd_days_from_civil(2026, 11, 27) * FD_DAY_MS;
}

static void test_plan_in_the_middle_of_a_generation(void)
{
        fd_dedupe_plan p;
        int64_t now = gen_start() + 2 * FD_DAY_MS + 12 * 60 * MIN_MS;

        FD_CHECK_INT(gen_start() % GEN_MS, 0);
        fd_dedupe_plan_at(now, WEEK_MS, 0, &p);
        FD_CHECK_INT(p.write_gen, 5196);
        /* a week back is 2026-11-22T12:00: generation 5194 (11-19 to 11-22) */
        FD_CHECK_INT(p.read_lo, 5194);
        FD_CHECK_INT(p.read_hi, 5196);
        FD_CHECK_INT(p.unlink_gen, 5193);
        FD_CHECK_INT(p.expire_at_ms,
                     gen_start() + GEN_MS + WEEK_MS + FD_DAY_MS);
        FD_CHECK_INT(p.v1, 0);
        FD_CHECK_INT(fd_dedupe_reads(&p), 3);
}

static void test_next_generation_read_near_its_start(void)
{
        fd_dedupe_plan p;

        /* 2026-11-26T23:55: an instance whose clock is ahead may already
         * write to the generation of 11-27 */
        fd_dedupe_plan_at(gen_start() - 5 * MIN_MS, WEEK_MS, 0, &p);
        FD_CHECK_INT(p.write_gen, 5195);
        FD_CHECK_INT(p.read_hi, 5196);
        fd_dedupe_plan_at(gen_start() - 11 * MIN_MS, WEEK_MS, 0, &p);
        FD_CHECK_INT(p.read_hi, 5195);
}

static void test_layout_1_markers_read_until_they_expire(void)
{
        fd_dedupe_plan p;
        int64_t now = gen_start();

        fd_dedupe_plan_at(now, WEEK_MS, now + 1, &p);
        FD_CHECK_INT(p.v1, 1);
        FD_CHECK_INT(fd_dedupe_reads(&p), (int)(p.read_hi - p.read_lo) + 2);
        fd_dedupe_plan_at(now, WEEK_MS, now, &p);
        FD_CHECK_INT(p.v1, 0);
}

/* For ids written at t by an instance whose clock is up to the skew ahead
 * or behind: a reader at any u in [t, t + window] reads the generation
 * they went to, neither it nor an instance whose clock is the skew ahead
 * unlinks it, it does not expire before, and a batch reads at most the
 * window's generations plus two. */
static void check_window(int64_t window_ms)
{
        const int64_t skews[] = {-FD_DEDUPE_SKEW_MS, 0, FD_DEDUPE_SKEW_MS};
        int bad = 0, max_reads = 0;
        int64_t most = window_ms / GEN_MS + 3;

        for (int64_t t = gen_start() - 9 * FD_DAY_MS;
             t < gen_start() + 9 * FD_DAY_MS && !bad; t += 7 * MIN_MS) {
                for (size_t s = 0; s < 3; s++) {
                        fd_dedupe_plan w;
                        fd_dedupe_plan_at(t + skews[s], window_ms, 0, &w);
                        for (int64_t u = t; u <= t + window_ms;
                             u += 53 * MIN_MS) {
                                fd_dedupe_plan r, ahead;
                                fd_dedupe_plan_at(u, window_ms, 0, &r);
                                fd_dedupe_plan_at(u + FD_DEDUPE_SKEW_MS,
                                                  window_ms, 0, &ahead);
                                bad |= w.write_gen < r.read_lo ||
                                       w.write_gen > r.read_hi ||
                                       r.unlink_gen >= w.write_gen ||
                                       ahead.unlink_gen >= w.write_gen;
                                if (fd_dedupe_reads(&r) > max_reads)
                                        max_reads = fd_dedupe_reads(&r);
                        }
                        bad |= w.expire_at_ms <=
                               t + window_ms + FD_DEDUPE_SKEW_MS;
                }
        }
        FD_CHECK_INT(bad, 0);
        FD_CHECK(max_reads <= most);
}

static void test_every_id_in_the_window_is_read(void)
{
        check_window(WEEK_MS);
        check_window(30 * FD_DAY_MS);
}

static void test_key_names_the_generations_first_day(void)
{
        fd_resp r = {0};

        FD_CHECK_INT(fd_key_dedupe(&r, "P", "acme", 5196), 0);
        FD_CHECK_INT(fd_key_dedupe(&r, "P", "acme", 5195), 0);
        FD_CHECK_INT(fd_buf_append(&r.buf, "", 1), 0);
        FD_CHECK(strstr(r.buf.data, "P:{acme}:dedupe:2026-11-27") != NULL);
        FD_CHECK(strstr(r.buf.data, "P:{acme}:dedupe:2026-11-23") != NULL);
        fd_resp_free(&r);
}

int main(void)
{
        FD_RUN(test_plan_in_the_middle_of_a_generation);
        FD_RUN(test_next_generation_read_near_its_start);
        FD_RUN(test_layout_1_markers_read_until_they_expire);
        FD_RUN(test_every_id_in_the_window_is_read);
        FD_RUN(test_key_names_the_generations_first_day);
        return FD_DONE();
}
