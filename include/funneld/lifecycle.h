/* funneld — per-lead lifecycle: stages as a high-water mark.
 *
 * A lead only moves forward within a cycle. Jumping ahead (lead -> sql)
 * enters the skipped stages too, flagged as implied, at the same time.
 * Repeated or older stage events change nothing. Closed-won and closed-lost
 * end a cycle; recycling (back to nurture) or re-opening after a close starts
 * a new cycle only when the config allows it. Pure logic: no I/O. */
#ifndef FUNNELD_LIFECYCLE_H
#define FUNNELD_LIFECYCLE_H

#include <stdint.h>

#include "funneld/stage.h"

typedef struct fd_lifecycle {
        fd_stage stage;                      /* current stage, NONE if new */
        int32_t cycle;                       /* 1-based; 0 when new */
        int64_t entered_at[FD_STAGE__COUNT]; /* ms, 0 = not entered in cycle */
        uint32_t implied_mask;               /* bit (1u << stage): implied */
} fd_lifecycle;

typedef struct fd_lifecycle_conf {
        int allow_recycle; /* "recycled"/"nurture" starts a new cycle at LEAD */
        int allow_reopen;  /* a stage event after a close starts a new cycle */
} fd_lifecycle_conf;

/* One stage entered by an advance. */
typedef struct fd_stage_entry {
        fd_stage stage;
        int implied; /* entered because a later stage was reached */
        int64_t at;
        int32_t cycle;
} fd_stage_entry;

/* Outcome of an advance besides the entries. */
typedef enum fd_lifecycle_result {
        FD_LC_ADVANCED = 0, /* one or more stages entered (see entries) */
        FD_LC_NOOP,         /* duplicate or older stage: nothing changes */
        FD_LC_RECYCLED,     /* new cycle started (entries hold its LEAD) */
} fd_lifecycle_result;

/* Moves lc towards target at event time at. Writes the entered stages, in
 * stage order, to out (room for FD_STAGE__COUNT entries) and their number to
 * *out_cnt. target may be FD_STAGE_NONE together with recycle=1 to ask for a
 * recycle. A new lead (stage NONE) always enters LEAD first (implied unless
 * target is LEAD). */
fd_lifecycle_result fd_lifecycle_advance(fd_lifecycle *lc, fd_stage target,
                                         int recycle, int64_t at,
                                         const fd_lifecycle_conf *conf,
                                         fd_stage_entry *out, int *out_cnt);

#endif
