/* funneld — event-id dedupe generations (dedupe.h). */
#include "dedupe.h"

#include "funneld/timebucket.h"

static int64_t gen_of(int64_t ms)
{
        return fd_floor_div(ms, FD_DEDUPE_GEN_DAYS * FD_DAY_MS);
}

void fd_dedupe_plan_at(int64_t now_ms, int64_t window_ms, int64_t v1_until_ms,
                       fd_dedupe_plan *plan)
{
        const int64_t gen_ms = FD_DEDUPE_GEN_DAYS * FD_DAY_MS;

        plan->write_gen = gen_of(now_ms);
        /* An id applied at t in [now - window, now] is in gen_of(t). The
         * clock of the instance that applied it may be the skew behind or
         * ahead of this one's; one whose clock is the skew ahead of that
         * unlinks only what neither reads any more. */
        plan->read_lo = gen_of(now_ms - window_ms - FD_DEDUPE_SKEW_MS);
        plan->read_hi = gen_of(now_ms + FD_DEDUPE_SKEW_MS);
        plan->unlink_gen =
                gen_of(now_ms - window_ms - 2 * FD_DEDUPE_SKEW_MS) - 1;
        /* Read while read_lo <= write_gen, i.e. until the generation's end
         * plus the window and the skew; a day more for clocks that
         * disagree more. */
        plan->expire_at_ms =
                (plan->write_gen + 1) * gen_ms + window_ms + FD_DAY_MS;
        plan->v1 = v1_until_ms > now_ms;
}

int fd_dedupe_reads(const fd_dedupe_plan *plan)
{
        return (int)(plan->read_hi - plan->read_lo + 1) + plan->v1;
}

int fd_key_dedupe(fd_resp *r, const char *p, const char *t, int64_t gen)
{
        char day[16];
        fd_day_format(gen * FD_DEDUPE_GEN_DAYS, day, sizeof(day));
        return fd_resp_fmt(r, "%s:{%s}:dedupe:%s", p, t, day);
}
