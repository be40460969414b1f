/* funneld — closed-won revenue attribution (DESIGN §3).
 *
 * Window: the touches with closed_at - lookback_ms <= at <= closed_at (a
 * negative lookback counts as 0). Call them W, n = |W|, in input order, which
 * the caller keeps sorted by (at, event_id).
 *
 * first_touch / last_touch put everything on W[0] / W[n-1], linear splits
 * equally, time_decay weighs a touch 2^(-(closed_at - at) / half_life)
 * (half_life_ms <= 0 means 7 days).
 *
 * Position models give fixed weights to milestone touches and spread the rest
 * over the other touches:
 *   position_based  first 40, last 40, spread 20
 *   u_shaped        first 40, lead creation 40, spread 20
 *   w_shaped        first 30, lead creation 30, opportunity 30, spread 10
 *   full_path       first, lead creation, opportunity, closed-won 22.5 each,
 *                   spread 10
 *   custom          the tenant's attribution.custom_weights: a percentage
 *                   for each of first, lead creation, opportunity,
 *                   closed-won, last and spread (fd_custom_weights)
 * Milestones: first = W[0]; last = closed-won = W[n-1]; lead creation = the
 * earliest in-window touch flagged FD_TOUCH_LEAD_CREATION; opportunity = the
 * last in-window touch with at <= opp_created_at (none when opp_created_at is
 * 0 or no touch qualifies).
 * - A MISSING milestone (lead-creation touch outside the window or unflagged,
 *   no opportunity touch) has its weight redistributed over the present
 *   milestones in proportion to their weights. When no present milestone
 *   has a weight (only a custom model can do that, e.g. lead_creation:50,
 *   spread:50 without a lead-creation touch), the missing weight joins the
 *   spread instead: every touch is then a non-milestone and gets an equal
 *   share.
 * - Coinciding milestones (one touch both first and lead creation, …) add
 *   their weights on that touch.
 * - The spread weight is divided equally among the in-window touches that
 *   are not milestones; with no such touch it is redistributed over the
 *   milestone touches in proportion to the weight they already have.
 * - n == 1 gives that touch 100 %, n == 2 gives 50/50 in every position
 *   model (DESIGN rule, whatever the milestones).
 *
 * Rounding: fd_largest_remainder() turns weights into integer credits that
 * sum exactly to the amount. It needs no scratch memory: the weights are
 * recomputed on demand and the remainder units go to the largest fractional
 * parts, found by a binary search over the bit patterns of the (non-negative
 * double) fractions, ties to the lower index.
 *
 * Pure: no I/O, no allocation. */
#include "funneld/attribution.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_HALF_LIFE_MS (7LL * 24 * 3600 * 1000)
#define NO_TOUCH             SIZE_MAX

static const char *const model_names[FD_MODEL__COUNT] = {
        [FD_MODEL_FIRST_TOUCH] = "first_touch",
        [FD_MODEL_LAST_TOUCH] = "last_touch",
        [FD_MODEL_LINEAR] = "linear",
        [FD_MODEL_POSITION_BASED] = "position_based",
        [FD_MODEL_U_SHAPED] = "u_shaped",
        [FD_MODEL_W_SHAPED] = "w_shaped",
        [FD_MODEL_FULL_PATH] = "full_path",
        [FD_MODEL_TIME_DECAY] = "time_decay",
        [FD_MODEL_J_SHAPED] = "j_shaped",
        [FD_MODEL_INVERSE_J] = "inverse_j",
        [FD_MODEL_CUSTOM] = "custom",
};

static const char *const milestone_names[FD_MS__COUNT] = {
        [FD_MS_FIRST] = "first",
        [FD_MS_LEAD_CREATION] = "lead_creation",
        [FD_MS_OPPORTUNITY_CREATION] = "opportunity_creation",
        [FD_MS_CLOSED_WON] = "closed_won",
        [FD_MS_LAST] = "last",
        [FD_MS_SPREAD] = "spread",
};

const char *fd_model_name(fd_model model)
{
        if ((int)model < 0 || model >= FD_MODEL__COUNT)
                return "unknown";
        return model_names[model];
}

int fd_model_parse(const char *name)
{
        int m;

        if (!name)
                return -1;
        for (m = 0; m < FD_MODEL__COUNT; m++)
                if (strcasecmp(name, model_names[m]) == 0)
                        return m;
        return -1;
}

const char *fd_milestone_name(fd_milestone ms)
{
        if ((int)ms < 0 || ms >= FD_MS__COUNT)
                return "unknown";
        return milestone_names[ms];
}

int fd_milestone_parse(const char *name)
{
        int m;

        if (!name)
                return -1;
        for (m = 0; m < FD_MS__COUNT; m++)
                if (strcasecmp(name, milestone_names[m]) == 0)
                        return m;
        return -1;
}

/* ---- largest remainder ------------------------------------------------ */

typedef long double (*weight_fn)(const void *ctx, size_t i);

/* An item's clean weight and share, computed once per split (the search
 * for the remainder's threshold asks for them about 63 times). */
typedef struct lr_item {
        long double w;
        int64_t floor;
        uint64_t frac_bits;
} lr_item;

typedef struct lr_split {
        weight_fn weight; /* raw weight of item i */
        const void *ctx;
        size_t n;
        int64_t amount;    /* >= 0 */
        long double total; /* sum of the clean weights, > 0 */
        int equal;         /* all weights were 0: split equally */
        lr_item *items;    /* n computed items, or NULL: computed on call */
        int ready;         /* items' weights (1) and shares (2) are set */
} lr_split;

/* The weight of item i, with negative, NaN and infinite weights as 0. */
static long double clean_weight(const lr_split *sp, size_t i)
{
        long double w;

        if (sp->equal)
                return 1.0L;
        if (sp->ready >= 1)
                return sp->items[i].w;
        w = sp->weight(sp->ctx, i);
        if (!(w > 0.0L) || isinf(w))
                return 0.0L;
        return w;
}

/* Exact share of item i (amount * w / total), and its floor in *floor_out,
 * clamped to [0, amount]. Returns the fractional part as double bits, which
 * order like the values because the fraction is non-negative. */
static uint64_t share_of(const lr_split *sp, size_t i, int64_t *floor_out)
{
        if (sp->ready >= 2) {
                *floor_out = sp->items[i].floor;
                return sp->items[i].frac_bits;
        }
        long double w = clean_weight(sp, i);
        long double exact = (long double)sp->amount * w / sp->total;
        long double fl = floorl(exact);
        double frac;
        uint64_t bits;

        if (fl >= (long double)sp->amount) {
                *floor_out = sp->amount;
                fl = (long double)sp->amount;
        } else if (fl <= 0.0L) {
                *floor_out = 0;
                fl = 0.0L;
        } else {
                *floor_out = (int64_t)fl;
        }
        frac = (double)(exact - fl);
        if (!(frac > 0.0))
                frac = 0.0;
        memcpy(&bits, &frac, sizeof(bits));
        return bits;
}

/* Number of positive-weight items whose fraction bits are >= key. */
static size_t count_frac_ge(const lr_split *sp, uint64_t key)
{
        size_t i, cnt = 0;
        int64_t fl;

        for (i = 0; i < sp->n; i++)
                if (clean_weight(sp, i) > 0.0L && share_of(sp, i, &fl) >= key)
                        cnt++;
        return cnt;
}

/* Gives r (< number of positive items) units to the largest fractions. */
static void give_remainder(const lr_split *sp, int64_t r, int64_t *parts)
{
        uint64_t lo = 0, hi = UINT64_C(1) << 63, bits;
        size_t i, need = (size_t)r;
        int64_t fl;

        /* lo: the largest key with at least r fractions >= key. */
        while (hi - lo > 1) {
                uint64_t mid = lo + (hi - lo) / 2;
                if (count_frac_ge(sp, mid) >= need)
                        lo = mid;
                else
                        hi = mid;
        }
        for (i = 0; i < sp->n && need > 0; i++) {
                if (clean_weight(sp, i) > 0.0L && share_of(sp, i, &fl) > lo) {
                        parts[i]++;
                        need--;
                }
        }
        for (i = 0; i < sp->n && need > 0; i++) {
                if (clean_weight(sp, i) <= 0.0L)
                        continue;
                bits = share_of(sp, i, &fl);
                if (bits == lo) {
                        parts[i]++;
                        need--;
                }
        }
}

static void split(lr_split *sp, int64_t *parts)
{
        size_t i, positive = 0;
        int64_t sum = 0, fl, r;

        memset(parts, 0, sp->n * sizeof(*parts));
        if (sp->n == 0 || sp->amount <= 0)
                return;
        /* Without memory for the items, each is computed when asked for:
         * the same results, slower. */
        sp->items = malloc(sp->n * sizeof(*sp->items));
        sp->total = 0.0L;
        for (i = 0; i < sp->n; i++) {
                long double w = clean_weight(sp, i);
                if (sp->items)
                        sp->items[i].w = w;
                sp->total += w;
        }
        sp->ready = sp->items ? 1 : 0;
        if (!(sp->total > 0.0L) || isinf(sp->total)) {
                sp->equal = 1;
                sp->total = (long double)sp->n;
        }
        for (i = 0; sp->items && i < sp->n; i++)
                sp->items[i].frac_bits = share_of(sp, i, &sp->items[i].floor);
        sp->ready = sp->items ? 2 : 0;
        for (i = 0; i < sp->n; i++) {
                if (clean_weight(sp, i) <= 0.0L)
                        continue;
                positive++;
                share_of(sp, i, &fl);
                /* Guard against rounding pushing the floors past amount. */
                parts[i] = fl < sp->amount - sum ? fl : sp->amount - sum;
                sum += parts[i];
        }
        r = sp->amount - sum;
        if ((size_t)r >= positive) { /* floating error only: spread evenly */
                int64_t each = r / (int64_t)positive;
                for (i = 0; i < sp->n; i++)
                        if (clean_weight(sp, i) > 0.0L)
                                parts[i] += each;
                r -= each * (int64_t)positive;
        }
        if (r > 0)
                give_remainder(sp, r, parts);
        free(sp->items);
        sp->items = NULL;
        sp->ready = 0;
}

static long double array_weight(const void *ctx, size_t i)
{
        return ((const double *)ctx)[i];
}

void fd_largest_remainder(int64_t amount, const double *weights, size_t n,
                          int64_t *parts)
{
        lr_split sp = {array_weight, weights, n, amount, 0.0L, 0, NULL, 0};

        split(&sp, parts);
}

/* ---- models ----------------------------------------------------------- */

enum { MS_FIRST, MS_LAST, MS_LEAD, MS_OPP, MS_WON, MS__COUNT };

/* Milestone weights and spread weight of each position model. */
static const double position_weights[FD_MODEL__COUNT][MS__COUNT + 1] = {
        [FD_MODEL_POSITION_BASED] = {40, 40, 0, 0, 0, 20},
        [FD_MODEL_U_SHAPED] = {40, 0, 40, 0, 0, 20},
        [FD_MODEL_W_SHAPED] = {30, 0, 30, 30, 0, 10},
        [FD_MODEL_FULL_PATH] = {22.5, 0, 22.5, 22.5, 22.5, 10},
        [FD_MODEL_J_SHAPED] = {20, 60, 0, 0, 0, 20},
        [FD_MODEL_INVERSE_J] = {60, 20, 0, 0, 0, 20},
};

/* The custom weights in the order of position_weights (basis points: only
 * their proportions matter). */
static void custom_position_weights(const fd_custom_weights *cw,
                                    double pw[MS__COUNT + 1])
{
        pw[MS_FIRST] = cw->bp[FD_MS_FIRST];
        pw[MS_LAST] = cw->bp[FD_MS_LAST];
        pw[MS_LEAD] = cw->bp[FD_MS_LEAD_CREATION];
        pw[MS_OPP] = cw->bp[FD_MS_OPPORTUNITY_CREATION];
        pw[MS_WON] = cw->bp[FD_MS_CLOSED_WON];
        pw[MS__COUNT] = cw->bp[FD_MS_SPREAD];
}

typedef struct attr_ctx {
        const fd_attr_input *in;
        fd_model model;
        double pw[MS__COUNT + 1]; /* the model's milestone weights, spread */
        int64_t lo, hi;           /* window, inclusive */
        size_t n;                 /* touches in the window */
        size_t ms[MS__COUNT];
        long double ms_weight[MS__COUNT]; /* after redistribution */
        long double spread_each;          /* per non-milestone touch */
        int64_t newest_at;
        long double half_life;
} attr_ctx;

static int in_window(const attr_ctx *ac, size_t i)
{
        int64_t at = ac->in->touches[i].at;

        return at >= ac->lo && at <= ac->hi;
}

static int is_position_model(fd_model model)
{
        return model == FD_MODEL_POSITION_BASED || model == FD_MODEL_U_SHAPED ||
               model == FD_MODEL_W_SHAPED || model == FD_MODEL_FULL_PATH ||
               model == FD_MODEL_J_SHAPED || model == FD_MODEL_INVERSE_J ||
               model == FD_MODEL_CUSTOM;
}

static long double position_weight(const attr_ctx *ac, size_t i)
{
        long double w = 0.0L;
        int m, milestone = 0;

        if (ac->n <= 2)
                return 1.0L;
        for (m = 0; m < MS__COUNT; m++) {
                if (ac->ms[m] == i && ac->ms_weight[m] > 0.0L) {
                        w += ac->ms_weight[m];
                        milestone = 1;
                }
        }
        return milestone ? w : ac->spread_each;
}

static long double touch_weight(const void *ctx, size_t i)
{
        const attr_ctx *ac = ctx;
        long double age;

        if (!in_window(ac, i))
                return 0.0L;
        switch (ac->model) {
        case FD_MODEL_FIRST_TOUCH:
                return i == ac->ms[MS_FIRST] ? 1.0L : 0.0L;
        case FD_MODEL_LAST_TOUCH:
                return i == ac->ms[MS_LAST] ? 1.0L : 0.0L;
        case FD_MODEL_TIME_DECAY:
                /* Relative to the newest touch (same ratios as relative to
                 * closed_at) so that long lookbacks cannot underflow. */
                age = (long double)ac->newest_at -
                      (long double)ac->in->touches[i].at;
                return exp2l(-age / ac->half_life);
        case FD_MODEL_LINEAR:
                return 1.0L;
        default:
                return position_weight(ac, i);
        }
}

/* Finds W's bounds and the milestone touches. */
static void find_milestones(attr_ctx *ac)
{
        const fd_attr_input *in = ac->in;
        size_t i;

        for (i = 0; i < MS__COUNT; i++)
                ac->ms[i] = NO_TOUCH;
        for (i = 0; i < in->touch_cnt; i++) {
                const fd_touch *t = &in->touches[i];
                if (!in_window(ac, i))
                        continue;
                if (ac->n++ == 0)
                        ac->ms[MS_FIRST] = i;
                ac->ms[MS_LAST] = i;
                if ((t->flags & FD_TOUCH_LEAD_CREATION) &&
                    (ac->ms[MS_LEAD] == NO_TOUCH ||
                     t->at < in->touches[ac->ms[MS_LEAD]].at))
                        ac->ms[MS_LEAD] = i;
                if (in->opp_created_at != 0 && t->at <= in->opp_created_at)
                        ac->ms[MS_OPP] = i;
        }
        ac->ms[MS_WON] = ac->ms[MS_LAST];
        if (ac->n > 0)
                ac->newest_at = in->touches[ac->ms[MS_LAST]].at;
}

/* Milestone weights after redistributing the missing ones, and the spread
 * share of each non-milestone touch. */
static void plan_positions(attr_ctx *ac)
{
        const double *pw = ac->pw;
        long double all = 0.0L, present = 0.0L, spread = pw[MS__COUNT];
        size_t i, others = 0;
        int m;

        for (m = 0; m < MS__COUNT; m++) {
                all += pw[m];
                if (ac->ms[m] != NO_TOUCH)
                        present += pw[m];
        }
        if (!(present > 0.0L)) /* custom only: no present milestone weighs */
                spread += all;
        for (m = 0; m < MS__COUNT; m++)
                ac->ms_weight[m] = ac->ms[m] == NO_TOUCH || !(present > 0.0L)
                                           ? 0.0L
                                           : pw[m] * all / present;
        for (i = 0; i < ac->in->touch_cnt; i++) {
                int milestone = 0;
                if (!in_window(ac, i))
                        continue;
                for (m = 0; m < MS__COUNT; m++)
                        if (ac->ms[m] == i && pw[m] > 0)
                                milestone = 1;
                others += !milestone;
        }
        /* No other touch: leaving the spread out renormalises it over the
         * milestones in proportion to their weights. */
        ac->spread_each = others ? spread / (long double)others : 0.0L;
}

size_t fd_attribute(fd_model model, const fd_attr_input *in, int64_t *credits)
{
        attr_ctx ac;
        int64_t lookback = in->lookback_ms > 0 ? in->lookback_ms : 0;
        lr_split sp;

        memset(&ac, 0, sizeof(ac));
        ac.in = in;
        ac.model = model;
        ac.hi = in->closed_at;
        ac.lo = in->closed_at < INT64_MIN + lookback ? INT64_MIN
                                                     : in->closed_at - lookback;
        ac.half_life =
                (long double)(in->half_life_ms > 0 ? in->half_life_ms
                                                   : DEFAULT_HALF_LIFE_MS);
        find_milestones(&ac);
        if (ac.n == 0 || (int)model < 0 || model >= FD_MODEL__COUNT ||
            (model == FD_MODEL_CUSTOM && (!in->custom || !in->custom->set))) {
                memset(credits, 0, in->touch_cnt * sizeof(*credits));
                return 0;
        }
        if (model == FD_MODEL_CUSTOM)
                custom_position_weights(in->custom, ac.pw);
        else if (is_position_model(model))
                memcpy(ac.pw, position_weights[model], sizeof(ac.pw));
        if (is_position_model(model))
                plan_positions(&ac);
        sp = (lr_split){touch_weight, &ac, in->touch_cnt, in->amount_minor,
                        0.0L,         0,   NULL,          0};
        split(&sp, credits);
        return ac.n;
}
