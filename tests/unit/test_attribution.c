/* Unit tests for attribution models and largest-remainder rounding. */
#include "funneld/attribution.h"

#include "fdtest.h"

#define DAY    86400000LL
#define CLOSED (100 * DAY)
#define MAXT   16

static fd_touch touches[MAXT];
static int64_t credits[MAXT];

/* Hundredths of a percent per milestone (first, lead creation, opportunity,
 * closed-won, last, spread). The default of input(): 30/20/20/-/20/10. */
static fd_custom_weights custom = {1, {3000, 2000, 2000, 0, 2000, 1000}};

/* Fills touches[i] with at = day_at[i] days, flags[i] (flags may be NULL). */
static void set_touches(const int64_t *day_at, const unsigned *flags, size_t n)
{
        size_t i;

        for (i = 0; i < n; i++) {
                touches[i].event_id = "e";
                touches[i].at = day_at[i] * DAY;
                touches[i].channel = "ch";
                touches[i].campaign = "cp";
                touches[i].flags = flags ? flags[i] : 0;
        }
}

static fd_attr_input input(size_t n, int64_t amount)
{
        fd_attr_input in = {touches,  n,       0,      CLOSED,
                            90 * DAY, 7 * DAY, amount, &custom};

        return in;
}

/* Runs model and compares the credits with want; reports the line. */
static void expect_credits(fd_model model, const fd_attr_input *in,
                           const int64_t *want, size_t want_n, int line)
{
        size_t i, n;

        for (i = 0; i < MAXT; i++)
                credits[i] = -99;
        n = fd_attribute(model, in, credits);
        if (n != want_n) {
                fprintf(stderr, "%s:%d: %s: %zu touches in window, want %zu\n",
                        __FILE__, line, fd_model_name(model), n, want_n);
                fdt_failed = 1;
        }
        for (i = 0; i < in->touch_cnt; i++) {
                if (credits[i] != want[i]) {
                        fprintf(stderr,
                                "%s:%d: %s: credit[%zu] == %lld, want %lld\n",
                                __FILE__, line, fd_model_name(model), i,
                                (long long)credits[i], (long long)want[i]);
                        fdt_failed = 1;
                }
        }
}

#define EXPECT(model, in, want, n) expect_credits(model, in, want, n, __LINE__)

static void test_model_names(void)
{
        int m;

        for (m = 0; m < FD_MODEL__COUNT; m++)
                FD_CHECK_INT(fd_model_parse(fd_model_name((fd_model)m)), m);
        FD_CHECK_STR(fd_model_name(FD_MODEL_W_SHAPED), "w_shaped");
        FD_CHECK_STR(fd_model_name(FD_MODEL_FULL_PATH), "full_path");
        FD_CHECK_INT(fd_model_parse("U_Shaped"), FD_MODEL_U_SHAPED);
        FD_CHECK_INT(fd_model_parse("markov"), -1);
        FD_CHECK_STR(fd_model_name(FD_MODEL_CUSTOM), "custom");
        FD_CHECK_INT(fd_model_parse("custom"), FD_MODEL_CUSTOM);
        FD_CHECK_INT(FD_MODEL_BUILTIN_COUNT, 10);
        for (m = 0; m < FD_MS__COUNT; m++)
                FD_CHECK_INT(
                        fd_milestone_parse(fd_milestone_name((fd_milestone)m)),
                        m);
        FD_CHECK_STR(fd_milestone_name(FD_MS_OPPORTUNITY_CREATION),
                     "opportunity_creation");
        FD_CHECK_INT(fd_milestone_parse("Lead_Creation"), FD_MS_LEAD_CREATION);
        FD_CHECK_INT(fd_milestone_parse("middle"), -1);
        FD_CHECK_INT(fd_milestone_parse(NULL), -1);
        FD_CHECK_INT(fd_model_parse(""), -1);
        FD_CHECK_INT(fd_model_parse(NULL), -1);
}

static void test_largest_remainder(void)
{
        const double thirds[] = {1, 1, 1}, one_of[] = {0, 1, 0};
        const double two_one[] = {2, 1}, tie[] = {1, 1};
        const double quarters[] = {1, 2, 3, 4}, bad[] = {-1, 1, 0.0 / 0.0};
        int64_t p[4];

        fd_largest_remainder(100, thirds, 3, p);
        FD_CHECK_INT(p[0], 34);
        FD_CHECK_INT(p[1], 33);
        FD_CHECK_INT(p[2], 33);
        fd_largest_remainder(5, one_of, 3, p);
        FD_CHECK_INT(p[0], 0);
        FD_CHECK_INT(p[1], 5);
        FD_CHECK_INT(p[2], 0);
        fd_largest_remainder(1, two_one, 2, p); /* 0.67 / 0.33 */
        FD_CHECK_INT(p[0], 1);
        FD_CHECK_INT(p[1], 0);
        fd_largest_remainder(1, tie, 2, p); /* tie: lower index */
        FD_CHECK_INT(p[0], 1);
        FD_CHECK_INT(p[1], 0);
        fd_largest_remainder(1000000000000000LL, quarters, 4, p);
        FD_CHECK_INT(p[0], 100000000000000LL);
        FD_CHECK_INT(p[1], 200000000000000LL);
        FD_CHECK_INT(p[2], 300000000000000LL);
        FD_CHECK_INT(p[3], 400000000000000LL);
        /* 10^15 + 7 in thirds: 333333333333335.67 each, 2 units left. */
        fd_largest_remainder(1000000000000007LL, thirds, 3, p);
        FD_CHECK_INT(p[0], 333333333333336LL);
        FD_CHECK_INT(p[1], 333333333333336LL);
        FD_CHECK_INT(p[2], 333333333333335LL);
        /* Negative and NaN weights count as 0. */
        fd_largest_remainder(7, bad, 3, p);
        FD_CHECK_INT(p[0], 0);
        FD_CHECK_INT(p[1], 7);
        FD_CHECK_INT(p[2], 0);
        fd_largest_remainder(0, thirds, 3, p);
        FD_CHECK_INT(p[0] + p[1] + p[2], 0);
}

static void test_no_touches(void)
{
        const int64_t days[] = {1, 2, 101, 150};
        const int64_t zero[] = {0, 0, 0, 0};
        fd_attr_input in = input(0, 500);
        int m;

        for (m = 0; m < FD_MODEL__COUNT; m++)
                EXPECT((fd_model)m, &in, zero, 0);
        /* Touches that all lie outside the window. */
        set_touches(days, NULL, 4);
        in = input(4, 500);
        for (m = 0; m < FD_MODEL__COUNT; m++)
                EXPECT((fd_model)m, &in, zero, 0);
}

static void test_one_touch(void)
{
        const int64_t days[] = {50};
        const int64_t want[] = {1234};
        fd_attr_input in = input(1, 1234);
        int m;

        set_touches(days, NULL, 1);
        for (m = 0; m < FD_MODEL__COUNT; m++)
                EXPECT((fd_model)m, &in, want, 1);
}

static void test_two_touches(void)
{
        const int64_t days[] = {40, 60};
        const unsigned lead_first[] = {FD_TOUCH_LEAD_CREATION, 0};
        const int64_t first[] = {101, 0}, last[] = {0, 101};
        const int64_t half[] = {51, 50};
        fd_attr_input in = input(2, 101);

        set_touches(days, lead_first, 2);
        in.opp_created_at = 45 * DAY;
        EXPECT(FD_MODEL_FIRST_TOUCH, &in, first, 2);
        EXPECT(FD_MODEL_LAST_TOUCH, &in, last, 2);
        EXPECT(FD_MODEL_LINEAR, &in, half, 2);
        /* 50/50 in every position model, whatever the milestones. */
        EXPECT(FD_MODEL_POSITION_BASED, &in, half, 2);
        EXPECT(FD_MODEL_U_SHAPED, &in, half, 2);
        EXPECT(FD_MODEL_W_SHAPED, &in, half, 2);
        EXPECT(FD_MODEL_FULL_PATH, &in, half, 2);
        EXPECT(FD_MODEL_CUSTOM, &in, half, 2);
}

static void test_window_bounds(void)
{
        /* Window [10, 100] days: 5 is too old, 101 is after the close;
         * 10 (the lookback edge) and 100 (closed_at) count. */
        const int64_t days[] = {5, 10, 50, 100, 101};
        const int64_t linear[] = {0, 30, 30, 30, 0};
        const int64_t first[] = {0, 90, 0, 0, 0};
        const int64_t last[] = {0, 0, 0, 90, 0};
        const int64_t pos[] = {0, 36, 18, 36, 0}; /* 40/20/40 of 90 */
        fd_attr_input in = input(5, 90);

        set_touches(days, NULL, 5);
        EXPECT(FD_MODEL_LINEAR, &in, linear, 3);
        EXPECT(FD_MODEL_FIRST_TOUCH, &in, first, 3);
        EXPECT(FD_MODEL_LAST_TOUCH, &in, last, 3);
        EXPECT(FD_MODEL_POSITION_BASED, &in, pos, 3);
}

static void test_equal_timestamps(void)
{
        const int64_t days[] = {30, 30, 30};
        const int64_t linear[] = {34, 33, 33};
        const int64_t first[] = {100, 0, 0}, last[] = {0, 0, 100};
        const int64_t decay[] = {34, 33, 33};
        fd_attr_input in = input(3, 100);

        set_touches(days, NULL, 3);
        EXPECT(FD_MODEL_LINEAR, &in, linear, 3);
        EXPECT(FD_MODEL_FIRST_TOUCH, &in, first, 3);
        EXPECT(FD_MODEL_LAST_TOUCH, &in, last, 3);
        EXPECT(FD_MODEL_TIME_DECAY, &in, decay, 3);
}

static void test_rounding(void)
{
        const int64_t days[] = {20, 30, 40};
        const int64_t one[] = {1, 0, 0}, zero[] = {0, 0, 0};
        const int64_t big[] = {333333333333336LL, 333333333333336LL,
                               333333333333335LL};
        fd_attr_input in = input(3, 1);

        set_touches(days, NULL, 3);
        EXPECT(FD_MODEL_LINEAR, &in, one, 3);
        in.amount_minor = 1000000000000007LL;
        EXPECT(FD_MODEL_LINEAR, &in, big, 3);
        in.amount_minor = 0;
        EXPECT(FD_MODEL_LINEAR, &in, zero, 3);
}

static void test_position_based(void)
{
        /* 40 / 20 spread as 10 + 10 / 40. Amount 999: exact 399.6, 99.9,
         * 99.9, 399.6 -> floors 399 99 99 399 (996), 3 units left go to
         * the .9 fractions (t1, t2) and then the first .6 (t0). */
        const int64_t days[] = {20, 30, 40, 50};
        const int64_t want[] = {400, 100, 100, 399};
        fd_attr_input in = input(4, 999);

        set_touches(days, NULL, 4);
        EXPECT(FD_MODEL_POSITION_BASED, &in, want, 4);
}

static void test_u_shaped(void)
{
        /* Lead creation t2: t0 40, t2 40, 20 over t1 t3 t4 (6.67 each of
         * 100). Of 1000: 400, 66.67, 400, 66.67, 66.67 -> floors sum 998,
         * 2 units to t1 and t3 (equal fractions, lower index first). */
        const int64_t days[] = {20, 30, 40, 50, 60};
        const unsigned flags[] = {0, 0, FD_TOUCH_LEAD_CREATION, 0, 0};
        const int64_t want[] = {400, 67, 400, 67, 66};
        fd_attr_input in = input(5, 1000);

        set_touches(days, flags, 5);
        EXPECT(FD_MODEL_U_SHAPED, &in, want, 5);
}

static void test_u_shaped_coinciding(void)
{
        /* Lead creation == first touch: 40 + 40 = 80 on it, 20 spread over
         * t1..t3 (6.67 each): floors 80 6 6 6 (98), 2 units to t1, t2. */
        const int64_t days[] = {20, 30, 40, 50};
        const unsigned flags[] = {FD_TOUCH_LEAD_CREATION, 0, 0, 0};
        const int64_t want[] = {80, 7, 7, 6};
        fd_attr_input in = input(4, 100);

        set_touches(days, flags, 4);
        EXPECT(FD_MODEL_U_SHAPED, &in, want, 4);
}

static void test_missing_lead_creation(void)
{
        /* No flagged touch: the lead-creation 40 moves to the only other
         * milestone (first): same numbers as the coinciding case. */
        const int64_t days[] = {20, 30, 40, 50};
        const int64_t want[] = {80, 7, 7, 6};
        /* Flagged touch before the window (day 5): it gets nothing and
         * counts as missing. */
        const int64_t days_out[] = {5, 20, 30, 40, 50};
        const unsigned flags_out[] = {FD_TOUCH_LEAD_CREATION, 0, 0, 0, 0};
        const int64_t want_out[] = {0, 80, 7, 7, 6};
        /* W-shaped, lead creation missing, opportunity t2: first 30 and
         * opp 30 each grow to 45 (90 * 30 / 60); spread 10 over t1, t3. */
        const int64_t want_w[] = {450, 50, 450, 50};
        fd_attr_input in = input(4, 100);

        set_touches(days, NULL, 4);
        EXPECT(FD_MODEL_U_SHAPED, &in, want, 4);
        set_touches(days_out, flags_out, 5);
        in = input(5, 100);
        EXPECT(FD_MODEL_U_SHAPED, &in, want_out, 4);
        set_touches(days, NULL, 4);
        in = input(4, 1000);
        in.opp_created_at = 45 * DAY;
        EXPECT(FD_MODEL_W_SHAPED, &in, want_w, 4);
}

static void test_w_shaped(void)
{
        /* t0 first, t1 lead creation, t2 the last touch at or before the
         * opportunity (day 45): 30 each; 10 spread over t3, t4 (5 each).
         * Of 999: 299.7 x3, 49.95 x2 -> floors 299 299 299 49 49 (995);
         * 4 units: t3, t4 (.95), then t0, t1 (.7, lower index first). */
        const int64_t days[] = {20, 30, 40, 50, 60};
        const unsigned flags[] = {0, FD_TOUCH_LEAD_CREATION, 0, 0, 0};
        const int64_t want[] = {300, 300, 299, 50, 50};
        /* Opportunity touch == lead creation t1 (opp at day 35): t1 60,
         * t0 30, spread 10 over t2..t4 (3.33): of 999 -> 299.7, 599.4,
         * 33.3 x3: floors 299 599 33 33 33 (997), 2 units to t0 (.7),
         * then t1 (.4). */
        const int64_t want2[] = {300, 600, 33, 33, 33};
        fd_attr_input in = input(5, 999);

        set_touches(days, flags, 5);
        in.opp_created_at = 45 * DAY;
        EXPECT(FD_MODEL_W_SHAPED, &in, want, 5);
        in.opp_created_at = 35 * DAY;
        EXPECT(FD_MODEL_W_SHAPED, &in, want2, 5);
}

static void test_full_path(void)
{
        /* t0 first, t1 lead, t3 opportunity (day 55), t5 closed-won: 22.5
         * each; 10 spread over t2, t4. Of 1001: 225.225 x4, 50.05 x2 ->
         * floors 225 x4 + 50 x2 = 1000; 1 unit to t0 (.225, lowest). */
        const int64_t days[] = {20, 30, 40, 50, 60, 70};
        const unsigned flags[] = {0, FD_TOUCH_LEAD_CREATION, 0, 0, 0, 0};
        const int64_t want[] = {226, 225, 50, 225, 50, 225};
        /* No opportunity time: its 22.5 spreads over first, lead and won
         * (30 each), spread 10 over t2..t4 (3.33 each). Of 1000: 300 300
         * 33.3 x3 300 -> floors sum 999, 1 unit to t2. */
        const int64_t want_no_opp[] = {300, 300, 34, 33, 33, 300};
        fd_attr_input in = input(6, 1001);

        set_touches(days, flags, 6);
        in.opp_created_at = 55 * DAY;
        EXPECT(FD_MODEL_FULL_PATH, &in, want, 6);
        in.opp_created_at = 0;
        in.amount_minor = 1000;
        EXPECT(FD_MODEL_FULL_PATH, &in, want_no_opp, 6);
        /* Opportunity before every touch: no opp milestone either. */
        in.opp_created_at = 10 * DAY;
        EXPECT(FD_MODEL_FULL_PATH, &in, want_no_opp, 6);
}

static void test_spread_renormalised(void)
{
        /* Full path on 3 touches: t0 first + lead (45), t1 opportunity
         * (22.5), t2 closed-won (22.5), no other touch: the spread 10 is
         * shared 2:1:1, so 50 / 25 / 25 %. Of 1001: 500.5 250.25 250.25
         * -> floors 1000, 1 unit to t0. */
        const int64_t days[] = {20, 30, 40};
        const unsigned flags[] = {FD_TOUCH_LEAD_CREATION, 0, 0};
        const int64_t want[] = {501, 250, 250};
        /* W-shaped on 3 distinct milestones: a third each. */
        const int64_t want_w[] = {34, 33, 33};
        const unsigned flags_w[] = {0, FD_TOUCH_LEAD_CREATION, 0};
        fd_attr_input in = input(3, 1001);

        set_touches(days, flags, 3);
        in.opp_created_at = 35 * DAY;
        EXPECT(FD_MODEL_FULL_PATH, &in, want, 3);
        set_touches(days, flags_w, 3);
        in.opp_created_at = 45 * DAY;
        in.amount_minor = 100;
        EXPECT(FD_MODEL_W_SHAPED, &in, want_w, 3);
}

/* The custom model with the default weights of input(): first 30, lead
 * creation 20, opportunity 20, last 20, spread 10. */
static void test_custom(void)
{
        /* t0 first, t1 lead creation, t2 the last touch at or before the
         * opportunity (day 45), t4 last; spread 10 all on t3. Of 999:
         * 299.7 199.8 199.8 99.9 199.8 -> floors 299 199 199 99 199 (995),
         * 4 units: t3 (.9), then t1, t2, t4 (.8). */
        const int64_t days[] = {20, 30, 40, 50, 60};
        const unsigned flags[] = {0, FD_TOUCH_LEAD_CREATION, 0, 0, 0};
        const int64_t want[] = {299, 200, 200, 100, 200};
        /* first:10,lead_creation:40,closed_won:15,last:15,spread:20 and
         * opportunity 0: closed-won adds to last (t4 30), the opportunity
         * touch t2 weighs nothing as a milestone, so it shares the spread
         * with t3 (10 each). Of 1001: 100.1 400.4 100.1 100.1 300.3 ->
         * floors 1000, 1 unit to t1 (.4). */
        const fd_custom_weights other = {1, {1000, 4000, 0, 1500, 1500, 2000}};
        const int64_t want_other[] = {100, 401, 100, 100, 300};
        /* One touch: 100 %. */
        const int64_t want_one[] = {777};
        fd_attr_input in = input(5, 999);

        set_touches(days, flags, 5);
        in.opp_created_at = 45 * DAY;
        EXPECT(FD_MODEL_CUSTOM, &in, want, 5);
        in.custom = &other;
        in.amount_minor = 1001;
        EXPECT(FD_MODEL_CUSTOM, &in, want_other, 5);
        in = input(1, 777);
        EXPECT(FD_MODEL_CUSTOM, &in, want_one, 1);
}

static void test_custom_missing_and_coinciding(void)
{
        const int64_t days[] = {20, 30, 40, 50, 60};
        const unsigned flags[] = {0, FD_TOUCH_LEAD_CREATION, 0, 0, 0};
        const unsigned flags0[] = {FD_TOUCH_LEAD_CREATION, 0, 0, 0, 0};
        /* No opportunity: its 20 goes to first, lead and last in
         * proportion 30:20:20, i.e. x 90/70: 38.571 25.714 25.714; spread
         * 10 over t2, t3 (5 each). Of 1000: 385.714 257.143 50 50 257.143
         * -> floors 999, 1 unit to t0 (.714). */
        const int64_t want_no_opp[] = {386, 257, 50, 50, 257};
        /* Lead creation = first = opportunity touch t0 (opp at day 25):
         * 30 + 20 + 20 = 70 on t0, last 20 on t4, spread 10 over t1..t3
         * (3.33 each). Of 1000: 700 33.3 x3 200 -> floors 999, 1 unit to
         * t1 (tie, lowest index). */
        const int64_t want_coincide[] = {700, 34, 33, 33, 200};
        /* lead_creation:50,spread:50 with no lead-creation touch (and no
         * opportunity): no present milestone weighs, so the missing 50
         * joins the spread: 25 % each of 4. Of 1001: 250.25 each -> 1 unit
         * to t0. */
        const fd_custom_weights lead_only = {1, {0, 5000, 0, 0, 0, 5000}};
        const int64_t want_linear[] = {251, 250, 250, 250};
        /* The same weights with t2 flagged: 50 on t2, 50 over t0, t1, t3
         * (16.67 each). Of 1000: floors 166 166 500 166 (998), 2 units to
         * t0, t1 (.67, lowest index). */
        const unsigned flags2[] = {0, 0, FD_TOUCH_LEAD_CREATION, 0};
        const int64_t want_lead[] = {167, 167, 500, 166};
        /* No middle touch: t0 first + lead (50), t1 opportunity (20), t2
         * last (20); the spread 10 is shared 50:20:20. Of 1000: 555.56
         * 222.22 222.22 -> floors 999, 1 unit to t0. */
        const int64_t days3[] = {20, 30, 40};
        const int64_t want_three[] = {556, 222, 222};
        /* first:50,last:50 (spread 0): the middle touches get nothing. Of
         * 101: 50.5 0 0 50.5 -> 1 unit to t0. */
        const fd_custom_weights ends = {1, {5000, 0, 0, 0, 5000, 0}};
        const int64_t want_ends[] = {51, 0, 0, 50};
        /* Weights not set: nothing attributed. */
        const fd_custom_weights unset = {0, {0}};
        const int64_t zero[] = {0, 0, 0, 0, 0};
        fd_attr_input in = input(5, 1000);

        set_touches(days, flags, 5);
        EXPECT(FD_MODEL_CUSTOM, &in, want_no_opp, 5);
        set_touches(days, flags0, 5);
        in.opp_created_at = 25 * DAY;
        EXPECT(FD_MODEL_CUSTOM, &in, want_coincide, 5);

        set_touches(days, NULL, 4);
        in = input(4, 1001);
        in.custom = &lead_only;
        EXPECT(FD_MODEL_CUSTOM, &in, want_linear, 4);
        set_touches(days, flags2, 4);
        in.amount_minor = 1000;
        EXPECT(FD_MODEL_CUSTOM, &in, want_lead, 4);

        set_touches(days3, flags0, 3);
        in = input(3, 1000);
        in.opp_created_at = 35 * DAY;
        EXPECT(FD_MODEL_CUSTOM, &in, want_three, 3);

        set_touches(days, NULL, 4);
        in = input(4, 101);
        in.custom = &ends;
        EXPECT(FD_MODEL_CUSTOM, &in, want_ends, 4);

        set_touches(days, flags, 5);
        in = input(5, 1000);
        in.custom = &unset;
        EXPECT(FD_MODEL_CUSTOM, &in, zero, 0);
        in.custom = NULL;
        EXPECT(FD_MODEL_CUSTOM, &in, zero, 0);
}

static void test_time_decay(void)
{
        /* Ages 7 and 0 days, half-life 7 days: weights 0.5 and 1, so 1/3
         * and 2/3. Of 300: 100 / 200; of 100: 33.3 / 66.7 -> 33 / 67. */
        const int64_t days[] = {93, 100};
        const int64_t want300[] = {100, 200}, want100[] = {33, 67};
        /* Ages 14, 7, 0: weights 1/4, 1/2, 1 of 1.75: 700 -> 100 200 400. */
        const int64_t days3[] = {86, 93, 100};
        const int64_t want3[] = {100, 200, 400};
        /* Half-life 1 day, ages 2 and 1 (close after the last touch):
         * weights 1/4 and 1/2 -> 1/3, 2/3 again. */
        const int64_t days_hl[] = {98, 99};
        fd_attr_input in = input(2, 300);

        set_touches(days, NULL, 2);
        EXPECT(FD_MODEL_TIME_DECAY, &in, want300, 2);
        in.amount_minor = 100;
        EXPECT(FD_MODEL_TIME_DECAY, &in, want100, 2);
        in.half_life_ms = 0; /* default: 7 days */
        EXPECT(FD_MODEL_TIME_DECAY, &in, want100, 2);
        set_touches(days3, NULL, 3);
        in = input(3, 700);
        EXPECT(FD_MODEL_TIME_DECAY, &in, want3, 3);
        set_touches(days_hl, NULL, 2);
        in = input(2, 300);
        in.half_life_ms = DAY;
        EXPECT(FD_MODEL_TIME_DECAY, &in, want300, 2);
}

static uint64_t rng_state = 0x243F6A8885A308D3ULL;

static uint64_t rng(void)
{
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

/* Checks one pseudo-random case of model; returns 0 when it holds. */
static int random_case(fd_model model)
{
        size_t n = rng() % (MAXT + 1), i, in_window = 0;
        fd_attr_input in = input(n, 0);
        int64_t at = CLOSED - 120 * DAY, sum = 0, lo = INT64_MAX, hi = 0;

        for (i = 0; i < n; i++) {
                at += (int64_t)(rng() % (20 * DAY)) * (rng() % 4 != 0);
                touches[i].at = at;
                touches[i].flags = rng() % 5 == 0 ? FD_TOUCH_LEAD_CREATION : 0;
                touches[i].event_id = "e";
        }
        in.amount_minor = rng() % 3 == 0 ? (int64_t)(rng() % 1000)
                                         : (int64_t)(rng() % 1000000000000001);
        in.opp_created_at =
                rng() % 3 == 0 ? 0 : CLOSED - (int64_t)(rng() % (100 * DAY));
        in.lookback_ms = (int64_t)(rng() % (120 * DAY));
        in.half_life_ms = (int64_t)(rng() % (10 * DAY));
        if (model == FD_MODEL_CUSTOM) { /* random weights, often 0 */
                int32_t left = 10000;
                for (i = 0; i + 1 < FD_MS__COUNT; i++) {
                        custom.bp[i] =
                                rng() % 2 ? 0
                                          : (int32_t)(rng() %
                                                      (uint64_t)(left + 1));
                        left -= custom.bp[i];
                }
                custom.bp[FD_MS__COUNT - 1] = left;
        }
        if (fd_attribute(model, &in, credits) > n)
                return 1;
        for (i = 0; i < n; i++) {
                int inside = touches[i].at >= CLOSED - in.lookback_ms &&
                             touches[i].at <= CLOSED;
                if (credits[i] < 0 || (!inside && credits[i] != 0))
                        return 1;
                in_window += inside;
                sum += credits[i];
                if (inside && credits[i] < lo)
                        lo = credits[i];
                if (inside && credits[i] > hi)
                        hi = credits[i];
        }
        if (fd_attribute(model, &in, credits) != in_window)
                return 1;
        if (model == FD_MODEL_LINEAR && in_window > 0 && hi - lo > 1)
                return 1;
        return sum != (in_window ? in.amount_minor : 0);
}

static void test_sum_property(void)
{
        int m, k;

        for (m = 0; m < FD_MODEL__COUNT; m++) {
                int bad = 0;
                for (k = 0; k < 400; k++)
                        bad += random_case((fd_model)m);
                if (bad)
                        fprintf(stderr, "%s: %d of 400 cases failed\n",
                                fd_model_name((fd_model)m), bad);
                FD_CHECK_INT(bad, 0);
        }
}

int main(void)
{
        FD_RUN(test_model_names);
        FD_RUN(test_largest_remainder);
        FD_RUN(test_no_touches);
        FD_RUN(test_one_touch);
        FD_RUN(test_two_touches);
        FD_RUN(test_window_bounds);
        FD_RUN(test_equal_timestamps);
        FD_RUN(test_rounding);
        FD_RUN(test_position_based);
        FD_RUN(test_u_shaped);
        FD_RUN(test_u_shaped_coinciding);
        FD_RUN(test_missing_lead_creation);
        FD_RUN(test_w_shaped);
        FD_RUN(test_full_path);
        FD_RUN(test_spread_renormalised);
        FD_RUN(test_custom);
        FD_RUN(test_custom_missing_and_coinciding);
        FD_RUN(test_time_decay);
        FD_RUN(test_sum_property);
        return FD_DONE();
}
