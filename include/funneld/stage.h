/* funneld — lifecycle stages and their high-water-mark progression. */
#ifndef FUNNELD_STAGE_H
#define FUNNELD_STAGE_H

#include <stddef.h>
#include <stdint.h>

/* Ordered: a lead moves forward through LEAD..CLOSED_WON. CLOSED_LOST is a
 * terminal stage reachable from any open stage. */
typedef enum fd_stage {
        FD_STAGE_NONE = 0,
        FD_STAGE_LEAD,
        FD_STAGE_MQL,
        FD_STAGE_SQL,
        FD_STAGE_OPPORTUNITY,
        FD_STAGE_CLOSED_WON,
        FD_STAGE_CLOSED_LOST,
        FD_STAGE__COUNT
} fd_stage;

/* The stages with their names, as X(stage, "name") for each: the one list
 * fd_stage_name and the tables of names built from them (the lead hash's
 * "entered:<name>" fields) are made from. */
#define FD_STAGE_NAMES(X)                                                      \
        X(FD_STAGE_LEAD, "lead")                                               \
        X(FD_STAGE_MQL, "mql")                                                 \
        X(FD_STAGE_SQL, "sql")                                                 \
        X(FD_STAGE_OPPORTUNITY, "opportunity")                                 \
        X(FD_STAGE_CLOSED_WON, "closed_won")                                   \
        X(FD_STAGE_CLOSED_LOST, "closed_lost")

/* Stage names as they appear in CrmStageEvent.stage, in Redis keys and in
 * PromotionEvent: "lead", "mql", "sql", "opportunity", "closed_won",
 * "closed_lost". */
const char *fd_stage_name(fd_stage stage);
/* strlen(fd_stage_name(stage)), from a table. */
size_t fd_stage_name_len(fd_stage stage);

/* Parses a stage name (case-insensitive). Returns FD_STAGE_NONE when unknown.
 * "recycled" and "nurture" are not stages: see fd_stage_is_recycle(). */
fd_stage fd_stage_parse(const char *name);

/* 1 if name asks to recycle the lead back to nurture ("recycled", "nurture").
 */
int fd_stage_is_recycle(const char *name);

/* The time-in-stage histogram of P:{T}:velocity:<stage> (docs/REDIS.md):
 * bucket b counts the stays of at most fd_velocity_bucket_ms[b] ms in field
 * fd_velocity_bucket_field[b] ("le:1h" .. "le:90d"); the last, "le:inf",
 * has no bound (INT64_MAX). */
#define FD_VELOCITY_BUCKET_CNT 9
extern const int64_t fd_velocity_bucket_ms[FD_VELOCITY_BUCKET_CNT];
extern const char *const fd_velocity_bucket_field[FD_VELOCITY_BUCKET_CNT];

/* The bucket of a stay of ms (negative counts as 0). */
int fd_velocity_bucket(int64_t ms);

#endif
