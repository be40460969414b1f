/* funneld — closed-won revenue attribution over a lead's touches.
 *
 * Pure math: no I/O, no allocation beyond what the caller hands in. Credits
 * are integer minor units that sum exactly to the amount (largest-remainder
 * rounding; ties go to the earlier touch). */
#ifndef FUNNELD_ATTRIBUTION_H
#define FUNNELD_ATTRIBUTION_H

#include <stddef.h>
#include <stdint.h>

typedef enum fd_model {
        FD_MODEL_FIRST_TOUCH = 0,
        FD_MODEL_LAST_TOUCH,
        FD_MODEL_LINEAR,
        FD_MODEL_POSITION_BASED, /* 40 first / 40 last / 20 spread */
        FD_MODEL_U_SHAPED,       /* 40 first / 40 lead creation / 20 spread */
        FD_MODEL_W_SHAPED,       /* 30 first / 30 lead creation / 30 opp / 10 */
        FD_MODEL_FULL_PATH,      /* 22.5 x first, lead, opp, won / 10 spread */
        FD_MODEL_TIME_DECAY,     /* weight 2^(-age/half_life) */
        FD_MODEL_J_SHAPED,       /* 20 first / 60 last / 20 spread */
        FD_MODEL_INVERSE_J,      /* 60 first / 20 last / 20 spread */
        FD_MODEL_CUSTOM,         /* the tenant's fd_custom_weights */
        FD_MODEL__COUNT
} fd_model;

/* The built-in models are those before FD_MODEL_CUSTOM ("all" in
 * attribution.models). */
#define FD_MODEL_BUILTIN_COUNT FD_MODEL_CUSTOM

/* "first_touch", "last_touch", "linear", "position_based", "u_shaped",
 * "w_shaped", "full_path", "time_decay", "j_shaped", "inverse_j",
 * "custom". */
const char *fd_model_name(fd_model model);
/* Returns the model or -1 when the name is unknown. */
int fd_model_parse(const char *name);

/* The milestones a custom model weighs (attribution.custom_weights), with
 * the names of the config: "first", "lead_creation", "opportunity_creation",
 * "closed_won" (the last touch, as in full_path), "last" and "spread" (the
 * share of the touches that are no milestone). */
typedef enum fd_milestone {
        FD_MS_FIRST = 0,
        FD_MS_LEAD_CREATION,
        FD_MS_OPPORTUNITY_CREATION,
        FD_MS_CLOSED_WON,
        FD_MS_LAST,
        FD_MS_SPREAD,
        FD_MS__COUNT
} fd_milestone;

const char *fd_milestone_name(fd_milestone ms);
/* Returns the milestone or -1 when the name is unknown (any case). */
int fd_milestone_parse(const char *name);

/* The weights of the custom model: hundredths of a percent per milestone,
 * summing to 10000 when set. */
typedef struct fd_custom_weights {
        int set; /* 0: not configured */
        int32_t bp[FD_MS__COUNT];
} fd_custom_weights;

#define FD_TOUCH_LEAD_CREATION 0x1u /* the event that first carried lead id */

typedef struct fd_touch {
        const char *event_id;
        int64_t at; /* event time, ms */
        const char *channel;
        const char *campaign;
        unsigned flags; /* FD_TOUCH_* */
} fd_touch;

typedef struct fd_attr_input {
        const fd_touch *touches; /* sorted by (at, event_id) ascending */
        size_t touch_cnt;
        int64_t opp_created_at; /* opportunity stage time, 0 if unknown */
        int64_t closed_at;      /* close time: the end of the window */
        int64_t lookback_ms;  /* touches in [closed_at - lookback, closed_at] */
        int64_t half_life_ms; /* time decay; 7 days by default */
        int64_t amount_minor; /* >= 0 */
        /* FD_MODEL_CUSTOM's weights; ignored by the other models. NULL or
         * not set: the custom model attributes nothing. */
        const fd_custom_weights *custom;
} fd_attr_input;

/* Computes the credit of every touch under model. credits has touch_cnt
 * entries; touches outside the window get 0. Returns the number of touches
 * inside the window (0: nothing attributed, all credits 0). */
size_t fd_attribute(fd_model model, const fd_attr_input *in, int64_t *credits);

/* Splits amount over weights (n entries, each >= 0, not all 0) into integer
 * parts summing exactly to amount: floor of each exact share, then one unit
 * each to the largest remainders, ties to the lower index. */
void fd_largest_remainder(int64_t amount, const double *weights, size_t n,
                          int64_t *parts);

#endif
