/* funneld — per-lead lifecycle as a high-water mark.
 *
 * Rules (see lifecycle.h and DESIGN §3):
 * - a new lead (stage NONE) starts cycle 1 and enters LEAD (implied unless
 *   the target is LEAD), then every stage up to the target;
 * - a later open stage enters every stage after the current one up to it,
 *   the skipped ones flagged implied, all at the event time;
 * - CLOSED_LOST from an open stage enters CLOSED_LOST only;
 * - the current or an earlier stage changes nothing (NOOP);
 * - after a close, further stage events are NOOP unless allow_reopen; then a
 *   new cycle starts at LEAD and runs up to the target. A repeat of the close
 *   itself (same closed stage) or an event older than the close stays NOOP,
 *   so a re-sent closed_won never counts a second win;
 * - recycle starts a new cycle at LEAD when allow_recycle and the lead exists.
 * Pure logic: no I/O, no allocation. */
#include "funneld/lifecycle.h"

#include <string.h>

static int stage_is_closed(fd_stage stage)
{
        return stage == FD_STAGE_CLOSED_WON || stage == FD_STAGE_CLOSED_LOST;
}

static void enter(fd_lifecycle *lc, fd_stage stage, int implied, int64_t at,
                  fd_stage_entry *out, int *out_cnt)
{
        lc->entered_at[stage] = at;
        if (implied)
                lc->implied_mask |= 1u << stage;
        lc->stage = stage;
        out[*out_cnt].stage = stage;
        out[*out_cnt].implied = implied;
        out[*out_cnt].at = at;
        out[*out_cnt].cycle = lc->cycle;
        (*out_cnt)++;
}

/* Resets lc to the start of the next cycle (no stage entered yet). */
static void new_cycle(fd_lifecycle *lc)
{
        lc->cycle++;
        lc->stage = FD_STAGE_NONE;
        memset(lc->entered_at, 0, sizeof(lc->entered_at));
        lc->implied_mask = 0;
}

/* Moves an open lc (LEAD..OPPORTUNITY) forward to target > lc->stage. */
static void advance_open(fd_lifecycle *lc, fd_stage target, int64_t at,
                         fd_stage_entry *out, int *out_cnt)
{
        int s;

        if (target == FD_STAGE_CLOSED_LOST) {
                enter(lc, FD_STAGE_CLOSED_LOST, 0, at, out, out_cnt);
                return;
        }
        for (s = (int)lc->stage + 1; s <= (int)target; s++)
                enter(lc, (fd_stage)s, s != (int)target, at, out, out_cnt);
}

/* Starts a fresh cycle (lc->stage NONE) at LEAD and runs up to target. */
static void start_cycle(fd_lifecycle *lc, fd_stage target, int64_t at,
                        fd_stage_entry *out, int *out_cnt)
{
        enter(lc, FD_STAGE_LEAD, target != FD_STAGE_LEAD, at, out, out_cnt);
        if (target != FD_STAGE_LEAD)
                advance_open(lc, target, at, out, out_cnt);
}

static fd_lifecycle_result do_recycle(fd_lifecycle *lc, int64_t at,
                                      const fd_lifecycle_conf *conf,
                                      fd_stage_entry *out, int *out_cnt)
{
        if (!conf || !conf->allow_recycle || lc->stage == FD_STAGE_NONE)
                return FD_LC_NOOP;
        new_cycle(lc);
        enter(lc, FD_STAGE_LEAD, 0, at, out, out_cnt);
        return FD_LC_RECYCLED;
}

fd_lifecycle_result fd_lifecycle_advance(fd_lifecycle *lc, fd_stage target,
                                         int recycle, int64_t at,
                                         const fd_lifecycle_conf *conf,
                                         fd_stage_entry *out, int *out_cnt)
{
        *out_cnt = 0;
        if (recycle)
                return do_recycle(lc, at, conf, out, out_cnt);
        if ((int)target <= (int)FD_STAGE_NONE || target >= FD_STAGE__COUNT)
                return FD_LC_NOOP;
        if (lc->stage == FD_STAGE_NONE) {
                if (lc->cycle == 0)
                        lc->cycle = 1;
                start_cycle(lc, target, at, out, out_cnt);
                return FD_LC_ADVANCED;
        }
        if (stage_is_closed(lc->stage)) {
                if (!conf || !conf->allow_reopen || target == lc->stage ||
                    at < lc->entered_at[lc->stage])
                        return FD_LC_NOOP;
                new_cycle(lc);
                start_cycle(lc, target, at, out, out_cnt);
                return FD_LC_ADVANCED;
        }
        if (target <= lc->stage)
                return FD_LC_NOOP;
        advance_open(lc, target, at, out, out_cnt);
        return FD_LC_ADVANCED;
}
