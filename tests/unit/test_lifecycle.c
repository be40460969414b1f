/* Unit tests for stage names and the lifecycle high-water mark. */
#include "funneld/lifecycle.h"
#include "funneld/stage.h"

#include "fdtest.h"

static const fd_lifecycle_conf conf_none = {0, 0};
static const fd_lifecycle_conf conf_all = {1, 1};

static fd_stage_entry out[FD_STAGE__COUNT];
static int cnt;

#define BIT(s) (1u << (s))

/* 1 when a and b hold the same lifecycle (field by field: no padding). */
static int lc_equal(const fd_lifecycle *a, const fd_lifecycle *b)
{
        int s;

        if (a->stage != b->stage || a->cycle != b->cycle ||
            a->implied_mask != b->implied_mask)
                return 0;
        for (s = 0; s < FD_STAGE__COUNT; s++)
                if (a->entered_at[s] != b->entered_at[s])
                        return 0;
        return 1;
}

static fd_lifecycle_result adv(fd_lifecycle *lc, fd_stage target, int64_t at,
                               const fd_lifecycle_conf *conf)
{
        return fd_lifecycle_advance(lc, target, 0, at, conf, out, &cnt);
}

static void test_stage_names(void)
{
        FD_CHECK_STR(fd_stage_name(FD_STAGE_LEAD), "lead");
        FD_CHECK_STR(fd_stage_name(FD_STAGE_MQL), "mql");
        FD_CHECK_STR(fd_stage_name(FD_STAGE_SQL), "sql");
        FD_CHECK_STR(fd_stage_name(FD_STAGE_OPPORTUNITY), "opportunity");
        FD_CHECK_STR(fd_stage_name(FD_STAGE_CLOSED_WON), "closed_won");
        FD_CHECK_STR(fd_stage_name(FD_STAGE_CLOSED_LOST), "closed_lost");
        FD_CHECK_INT(fd_stage_parse("lead"), FD_STAGE_LEAD);
        FD_CHECK_INT(fd_stage_parse("MQL"), FD_STAGE_MQL);
        FD_CHECK_INT(fd_stage_parse("Sql"), FD_STAGE_SQL);
        FD_CHECK_INT(fd_stage_parse("Opportunity"), FD_STAGE_OPPORTUNITY);
        FD_CHECK_INT(fd_stage_parse("CLOSED_WON"), FD_STAGE_CLOSED_WON);
        FD_CHECK_INT(fd_stage_parse("Closed Won"), FD_STAGE_CLOSED_WON);
        FD_CHECK_INT(fd_stage_parse("closed-lost"), FD_STAGE_CLOSED_LOST);
        FD_CHECK_INT(fd_stage_parse("closed_wonx"), FD_STAGE_NONE);
        FD_CHECK_INT(fd_stage_parse("closed"), FD_STAGE_NONE);
        FD_CHECK_INT(fd_stage_parse("none"), FD_STAGE_NONE);
        FD_CHECK_INT(fd_stage_parse(""), FD_STAGE_NONE);
        FD_CHECK_INT(fd_stage_parse(NULL), FD_STAGE_NONE);
        FD_CHECK_INT(fd_stage_parse("recycled"), FD_STAGE_NONE);
        FD_CHECK_INT(fd_stage_is_recycle("recycled"), 1);
        FD_CHECK_INT(fd_stage_is_recycle("Nurture"), 1);
        FD_CHECK_INT(fd_stage_is_recycle("lead"), 0);
        FD_CHECK_INT(fd_stage_is_recycle(NULL), 0);
}

static void test_new_lead_enters_lead(void)
{
        fd_lifecycle lc = {0};

        FD_CHECK_INT(adv(&lc, FD_STAGE_LEAD, 100, &conf_none), FD_LC_ADVANCED);
        FD_CHECK_INT(cnt, 1);
        FD_CHECK_INT(out[0].stage, FD_STAGE_LEAD);
        FD_CHECK_INT(out[0].implied, 0);
        FD_CHECK_INT(out[0].at, 100);
        FD_CHECK_INT(out[0].cycle, 1);
        FD_CHECK_INT(lc.stage, FD_STAGE_LEAD);
        FD_CHECK_INT(lc.cycle, 1);
        FD_CHECK_INT(lc.entered_at[FD_STAGE_LEAD], 100);
        FD_CHECK_INT(lc.implied_mask, 0);
}

static void test_new_lead_straight_to_sql(void)
{
        fd_lifecycle lc = {0};

        FD_CHECK_INT(adv(&lc, FD_STAGE_SQL, 500, &conf_none), FD_LC_ADVANCED);
        FD_CHECK_INT(cnt, 3);
        FD_CHECK_INT(out[0].stage, FD_STAGE_LEAD);
        FD_CHECK_INT(out[0].implied, 1);
        FD_CHECK_INT(out[1].stage, FD_STAGE_MQL);
        FD_CHECK_INT(out[1].implied, 1);
        FD_CHECK_INT(out[2].stage, FD_STAGE_SQL);
        FD_CHECK_INT(out[2].implied, 0);
        FD_CHECK_INT(out[2].at, 500);
        FD_CHECK_INT(out[2].cycle, 1);
        FD_CHECK_INT(lc.stage, FD_STAGE_SQL);
        FD_CHECK_INT(lc.implied_mask, BIT(FD_STAGE_LEAD) | BIT(FD_STAGE_MQL));
        FD_CHECK_INT(lc.entered_at[FD_STAGE_MQL], 500);
}

static void test_lead_to_sql_implies_mql(void)
{
        fd_lifecycle lc = {0};

        adv(&lc, FD_STAGE_LEAD, 100, &conf_none);
        FD_CHECK_INT(adv(&lc, FD_STAGE_SQL, 200, &conf_none), FD_LC_ADVANCED);
        FD_CHECK_INT(cnt, 2);
        FD_CHECK_INT(out[0].stage, FD_STAGE_MQL);
        FD_CHECK_INT(out[0].implied, 1);
        FD_CHECK_INT(out[0].at, 200);
        FD_CHECK_INT(out[1].stage, FD_STAGE_SQL);
        FD_CHECK_INT(out[1].implied, 0);
        FD_CHECK_INT(lc.entered_at[FD_STAGE_LEAD], 100);
        FD_CHECK_INT(lc.entered_at[FD_STAGE_MQL], 200);
        FD_CHECK_INT(lc.entered_at[FD_STAGE_SQL], 200);
        FD_CHECK_INT(lc.implied_mask, BIT(FD_STAGE_MQL));
}

static void test_repeated_and_older_are_noop(void)
{
        fd_lifecycle lc = {0}, before;

        adv(&lc, FD_STAGE_LEAD, 100, &conf_all);
        adv(&lc, FD_STAGE_SQL, 200, &conf_all);
        before = lc;
        FD_CHECK_INT(adv(&lc, FD_STAGE_SQL, 300, &conf_all), FD_LC_NOOP);
        FD_CHECK_INT(cnt, 0);
        FD_CHECK_INT(adv(&lc, FD_STAGE_MQL, 150, &conf_all), FD_LC_NOOP);
        FD_CHECK_INT(cnt, 0);
        FD_CHECK_INT(adv(&lc, FD_STAGE_LEAD, 90, &conf_all), FD_LC_NOOP);
        FD_CHECK_INT(adv(&lc, FD_STAGE_NONE, 400, &conf_all), FD_LC_NOOP);
        FD_CHECK(lc_equal(&lc, &before));
}

static void test_full_path_forward(void)
{
        fd_lifecycle lc = {0};

        adv(&lc, FD_STAGE_LEAD, 1, &conf_none);
        FD_CHECK_INT(adv(&lc, FD_STAGE_MQL, 2, &conf_none), FD_LC_ADVANCED);
        FD_CHECK_INT(cnt, 1);
        FD_CHECK_INT(adv(&lc, FD_STAGE_CLOSED_WON, 5, &conf_none),
                     FD_LC_ADVANCED);
        FD_CHECK_INT(cnt, 3);
        FD_CHECK_INT(out[0].stage, FD_STAGE_SQL);
        FD_CHECK_INT(out[1].stage, FD_STAGE_OPPORTUNITY);
        FD_CHECK_INT(out[2].stage, FD_STAGE_CLOSED_WON);
        FD_CHECK_INT(out[2].implied, 0);
        FD_CHECK_INT(lc.implied_mask,
                     BIT(FD_STAGE_SQL) | BIT(FD_STAGE_OPPORTUNITY));
        FD_CHECK_INT(lc.entered_at[FD_STAGE_CLOSED_LOST], 0);
}

static void test_closed_lost_from_mql(void)
{
        fd_lifecycle lc = {0};

        adv(&lc, FD_STAGE_MQL, 10, &conf_none);
        FD_CHECK_INT(adv(&lc, FD_STAGE_CLOSED_LOST, 20, &conf_none),
                     FD_LC_ADVANCED);
        FD_CHECK_INT(cnt, 1);
        FD_CHECK_INT(out[0].stage, FD_STAGE_CLOSED_LOST);
        FD_CHECK_INT(out[0].implied, 0);
        FD_CHECK_INT(lc.stage, FD_STAGE_CLOSED_LOST);
        FD_CHECK_INT(lc.entered_at[FD_STAGE_SQL], 0);
        FD_CHECK_INT(lc.entered_at[FD_STAGE_CLOSED_WON], 0);
        FD_CHECK_INT(lc.implied_mask, BIT(FD_STAGE_LEAD));
        /* closed-won after closed-lost: closed, no reopen. */
        FD_CHECK_INT(adv(&lc, FD_STAGE_CLOSED_WON, 30, &conf_none), FD_LC_NOOP);
        FD_CHECK_INT(cnt, 0);
}

static void test_new_lead_closed_lost(void)
{
        fd_lifecycle lc = {0};

        FD_CHECK_INT(adv(&lc, FD_STAGE_CLOSED_LOST, 7, &conf_none),
                     FD_LC_ADVANCED);
        FD_CHECK_INT(cnt, 2);
        FD_CHECK_INT(out[0].stage, FD_STAGE_LEAD);
        FD_CHECK_INT(out[0].implied, 1);
        FD_CHECK_INT(out[1].stage, FD_STAGE_CLOSED_LOST);
        FD_CHECK_INT(out[1].implied, 0);
}

static void test_closed_won_without_reopen(void)
{
        fd_lifecycle lc = {0}, before;

        adv(&lc, FD_STAGE_OPPORTUNITY, 10, &conf_none);
        adv(&lc, FD_STAGE_CLOSED_WON, 20, &conf_none);
        before = lc;
        FD_CHECK_INT(adv(&lc, FD_STAGE_SQL, 30, &conf_none), FD_LC_NOOP);
        FD_CHECK_INT(adv(&lc, FD_STAGE_LEAD, 30, &conf_none), FD_LC_NOOP);
        FD_CHECK_INT(adv(&lc, FD_STAGE_CLOSED_LOST, 30, &conf_none),
                     FD_LC_NOOP);
        FD_CHECK_INT(adv(&lc, FD_STAGE_CLOSED_WON, 30, &conf_none), FD_LC_NOOP);
        FD_CHECK_INT(cnt, 0);
        FD_CHECK(lc_equal(&lc, &before));
}

static void test_closed_won_with_reopen(void)
{
        fd_lifecycle_conf reopen = {0, 1};
        fd_lifecycle lc = {0};

        adv(&lc, FD_STAGE_OPPORTUNITY, 10, &reopen);
        adv(&lc, FD_STAGE_CLOSED_WON, 20, &reopen);
        FD_CHECK_INT(adv(&lc, FD_STAGE_MQL, 30, &reopen), FD_LC_ADVANCED);
        FD_CHECK_INT(cnt, 2);
        FD_CHECK_INT(out[0].stage, FD_STAGE_LEAD);
        FD_CHECK_INT(out[0].implied, 1);
        FD_CHECK_INT(out[0].cycle, 2);
        FD_CHECK_INT(out[1].stage, FD_STAGE_MQL);
        FD_CHECK_INT(out[1].implied, 0);
        FD_CHECK_INT(out[1].cycle, 2);
        FD_CHECK_INT(lc.cycle, 2);
        FD_CHECK_INT(lc.stage, FD_STAGE_MQL);
        FD_CHECK_INT(lc.entered_at[FD_STAGE_CLOSED_WON], 0);
        FD_CHECK_INT(lc.entered_at[FD_STAGE_OPPORTUNITY], 0);
        FD_CHECK_INT(lc.implied_mask, BIT(FD_STAGE_LEAD));
        /* Re-opened cycle runs as usual. */
        FD_CHECK_INT(adv(&lc, FD_STAGE_MQL, 31, &reopen), FD_LC_NOOP);
        FD_CHECK_INT(adv(&lc, FD_STAGE_SQL, 40, &reopen), FD_LC_ADVANCED);
        FD_CHECK_INT(out[0].cycle, 2);
}

static void test_reopen_with_lead_target_not_implied(void)
{
        fd_lifecycle_conf reopen = {0, 1};
        fd_lifecycle lc = {0};

        adv(&lc, FD_STAGE_CLOSED_LOST, 10, &reopen);
        FD_CHECK_INT(adv(&lc, FD_STAGE_LEAD, 20, &reopen), FD_LC_ADVANCED);
        FD_CHECK_INT(cnt, 1);
        FD_CHECK_INT(out[0].stage, FD_STAGE_LEAD);
        FD_CHECK_INT(out[0].implied, 0);
        FD_CHECK_INT(out[0].cycle, 2);
        FD_CHECK_INT(lc.implied_mask, 0);
}

static void test_reopen_ignores_repeat_and_older_close(void)
{
        fd_lifecycle_conf reopen = {0, 1};
        fd_lifecycle lc = {0};

        adv(&lc, FD_STAGE_CLOSED_WON, 100, &reopen);
        /* A re-sent closed_won must not count a second win. */
        FD_CHECK_INT(adv(&lc, FD_STAGE_CLOSED_WON, 200, &reopen), FD_LC_NOOP);
        /* An event from before the close is late, not a re-open. */
        FD_CHECK_INT(adv(&lc, FD_STAGE_SQL, 50, &reopen), FD_LC_NOOP);
        FD_CHECK_INT(lc.cycle, 1);
        FD_CHECK_INT(lc.stage, FD_STAGE_CLOSED_WON);
}

static void test_recycle_allowed(void)
{
        fd_lifecycle_conf recycle = {1, 0};
        fd_lifecycle lc = {0};

        adv(&lc, FD_STAGE_SQL, 10, &recycle);
        FD_CHECK_INT(fd_lifecycle_advance(&lc, FD_STAGE_NONE, 1, 50, &recycle,
                                          out, &cnt),
                     FD_LC_RECYCLED);
        FD_CHECK_INT(cnt, 1);
        FD_CHECK_INT(out[0].stage, FD_STAGE_LEAD);
        FD_CHECK_INT(out[0].implied, 0);
        FD_CHECK_INT(out[0].at, 50);
        FD_CHECK_INT(out[0].cycle, 2);
        FD_CHECK_INT(lc.cycle, 2);
        FD_CHECK_INT(lc.stage, FD_STAGE_LEAD);
        FD_CHECK_INT(lc.entered_at[FD_STAGE_LEAD], 50);
        FD_CHECK_INT(lc.entered_at[FD_STAGE_SQL], 0);
        FD_CHECK_INT(lc.implied_mask, 0);
        /* MQL can be reached again in the new cycle. */
        FD_CHECK_INT(adv(&lc, FD_STAGE_MQL, 60, &recycle), FD_LC_ADVANCED);
        FD_CHECK_INT(out[0].cycle, 2);
}

static void test_recycle_not_allowed(void)
{
        fd_lifecycle lc = {0}, before;

        adv(&lc, FD_STAGE_SQL, 10, &conf_none);
        before = lc;
        FD_CHECK_INT(fd_lifecycle_advance(&lc, FD_STAGE_NONE, 1, 50, &conf_none,
                                          out, &cnt),
                     FD_LC_NOOP);
        FD_CHECK_INT(cnt, 0);
        FD_CHECK(lc_equal(&lc, &before));
        /* A NULL conf allows nothing either. */
        FD_CHECK_INT(fd_lifecycle_advance(&lc, FD_STAGE_NONE, 1, 50, NULL, out,
                                          &cnt),
                     FD_LC_NOOP);
}

static void test_recycle_unknown_lead_is_noop(void)
{
        fd_lifecycle lc = {0};

        FD_CHECK_INT(fd_lifecycle_advance(&lc, FD_STAGE_NONE, 1, 50, &conf_all,
                                          out, &cnt),
                     FD_LC_NOOP);
        FD_CHECK_INT(cnt, 0);
        FD_CHECK_INT(lc.cycle, 0);
        FD_CHECK_INT(lc.stage, FD_STAGE_NONE);
}

static void test_recycle_after_close(void)
{
        fd_lifecycle_conf recycle = {1, 0};
        fd_lifecycle lc = {0};

        adv(&lc, FD_STAGE_CLOSED_LOST, 10, &recycle);
        FD_CHECK_INT(fd_lifecycle_advance(&lc, FD_STAGE_NONE, 1, 20, &recycle,
                                          out, &cnt),
                     FD_LC_RECYCLED);
        FD_CHECK_INT(lc.cycle, 2);
        FD_CHECK_INT(lc.stage, FD_STAGE_LEAD);
        FD_CHECK_INT(lc.entered_at[FD_STAGE_CLOSED_LOST], 0);
}

int main(void)
{
        FD_RUN(test_stage_names);
        FD_RUN(test_new_lead_enters_lead);
        FD_RUN(test_new_lead_straight_to_sql);
        FD_RUN(test_lead_to_sql_implies_mql);
        FD_RUN(test_repeated_and_older_are_noop);
        FD_RUN(test_full_path_forward);
        FD_RUN(test_closed_lost_from_mql);
        FD_RUN(test_new_lead_closed_lost);
        FD_RUN(test_closed_won_without_reopen);
        FD_RUN(test_closed_won_with_reopen);
        FD_RUN(test_reopen_with_lead_target_not_implied);
        FD_RUN(test_reopen_ignores_repeat_and_older_close);
        FD_RUN(test_recycle_allowed);
        FD_RUN(test_recycle_not_allowed);
        FD_RUN(test_recycle_unknown_lead_is_noop);
        FD_RUN(test_recycle_after_close);
        return FD_DONE();
}
