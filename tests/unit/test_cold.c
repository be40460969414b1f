/* Unit tests of the cold-lead rules: a lead's deadline (derived from its
 * stage entry, its tenant's windows and whether its alert fired), the
 * value a cold lead takes from the funnel, and the lead hash field `cold`
 * through a save and a load. */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "cold.h"
#include "fdtest.h"
#include "lead.h"

#define DAY  INT64_C(86400000)
#define HOUR INT64_C(3600000)

static fd_tenant_conf tenant(int64_t sql_days, int64_t mql_hours)
{
        fd_tenant_conf tc = {0};

        tc.cold.sql_ms = sql_days * DAY;
        tc.cold.mql_sla_hours = mql_hours;
        tc.cold.clock = "event";
        return tc;
}

static void test_deadline_of_each_stage(void)
{
        fd_tenant_conf tc = tenant(30, 48);
        fd_lead *lead = fd_lead_new("acme", "L1", &tc);
        int64_t w = -1;
        const int64_t t0 = INT64_C(1790000000000);

        /* No stage, or stage lead: no deadline. */
        FD_CHECK_INT(fd_cold_due(lead, &w), 0);
        lead->lc.stage = FD_STAGE_LEAD;
        lead->lc.entered_at[FD_STAGE_LEAD] = t0;
        FD_CHECK_INT(fd_cold_due(lead, &w), 0);
        FD_CHECK_INT(w, -1);

        lead->lc.stage = FD_STAGE_MQL;
        lead->lc.entered_at[FD_STAGE_MQL] = t0 + 1000;
        FD_CHECK_INT(fd_cold_due(lead, &w), t0 + 1000 + 48 * HOUR);
        FD_CHECK_INT(w, 48 * HOUR);

        lead->lc.stage = FD_STAGE_SQL;
        lead->lc.entered_at[FD_STAGE_SQL] = t0 + 5 * DAY;
        FD_CHECK_INT(fd_cold_due(lead, &w), t0 + 35 * DAY);
        FD_CHECK_INT(w, 30 * DAY);

        /* Its alert fired in this stage: no deadline while it stays. */
        lead->cold = FD_STAGE_SQL;
        FD_CHECK_INT(fd_cold_due(lead, NULL), 0);
        /* An alert of the MQL stay does not stop the SQL deadline. */
        lead->cold = FD_STAGE_MQL;
        FD_CHECK_INT(fd_cold_due(lead, NULL), t0 + 35 * DAY);

        /* Later stages have none. */
        lead->cold = FD_STAGE_NONE;
        lead->lc.stage = FD_STAGE_OPPORTUNITY;
        lead->lc.entered_at[FD_STAGE_OPPORTUNITY] = t0 + 6 * DAY;
        FD_CHECK_INT(fd_cold_due(lead, NULL), 0);
        fd_lead_destroy(lead);
}

static void test_window_zero_is_off(void)
{
        fd_tenant_conf tc = tenant(0, 0);
        fd_lead *lead = fd_lead_new("acme", "L1", &tc);

        lead->lc.stage = FD_STAGE_SQL;
        lead->lc.entered_at[FD_STAGE_SQL] = 1000;
        FD_CHECK_INT(fd_cold_due(lead, NULL), 0);
        lead->lc.stage = FD_STAGE_MQL;
        lead->lc.entered_at[FD_STAGE_MQL] = 1000;
        FD_CHECK_INT(fd_cold_due(lead, NULL), 0);
        FD_CHECK_INT(fd_cold_wall(&tc), 0);
        tc.cold.clock = "wall";
        FD_CHECK_INT(fd_cold_wall(&tc), 1);
        fd_lead_destroy(lead);
}

static void test_value(void)
{
        fd_goal g = {.deal_size_minor = 5000000,
                     .sql_to_won_pct = 25,
                     .mql_to_sql_pct = 20,
                     .lead_to_mql_pct = INT32_MIN};

        /* $50,000 deal: an SQL is worth 25 % of it, an MQL 20 % of that. */
        FD_CHECK_INT(fd_cold_value(&g, FD_STAGE_SQL), 1250000);
        FD_CHECK_INT(fd_cold_value(&g, FD_STAGE_MQL), 250000);
        /* Rounded half up: 333 * 15 % = 49.95 -> 50; * 15 % * 33 % =
         * 16.4835 -> 16. */
        g.deal_size_minor = 333;
        g.sql_to_won_pct = 15;
        g.mql_to_sql_pct = 33;
        FD_CHECK_INT(fd_cold_value(&g, FD_STAGE_SQL), 50);
        FD_CHECK_INT(fd_cold_value(&g, FD_STAGE_MQL), 16);
        /* The largest deal the config allows, at 100 %, does not overflow. */
        g.deal_size_minor = INT64_C(1000000000000000);
        g.sql_to_won_pct = 100;
        g.mql_to_sql_pct = 100;
        FD_CHECK_INT(fd_cold_value(&g, FD_STAGE_SQL),
                     INT64_C(1000000000000000));
        FD_CHECK_INT(fd_cold_value(&g, FD_STAGE_MQL),
                     INT64_C(1000000000000000));
        g.deal_size_minor = INT64_C(999999999999999);
        g.sql_to_won_pct = 99;
        g.mql_to_sql_pct = 99;
        /* 999999999999999 * 0.99 = 989999999999999.01 -> ...999;
         * * 0.9801 = 980099999999999.0199 -> ...999. */
        FD_CHECK_INT(fd_cold_value(&g, FD_STAGE_SQL), INT64_C(989999999999999));
        FD_CHECK_INT(fd_cold_value(&g, FD_STAGE_MQL), INT64_C(980099999999999));
        /* A goal without the rates gives no value. */
        g.mql_to_sql_pct = INT32_MIN;
        FD_CHECK_INT(fd_cold_value(&g, FD_STAGE_MQL), 0);
        g.sql_to_won_pct = INT32_MIN;
        FD_CHECK_INT(fd_cold_value(&g, FD_STAGE_SQL), 0);
        g.sql_to_won_pct = 20;
        g.deal_size_minor = 0;
        FD_CHECK_INT(fd_cold_value(&g, FD_STAGE_SQL), 0);
}

/* HGETALL-like reply of n field/value pairs. */
static redisReply *hash_reply(const char **kv, size_t n)
{
        redisReply *r = calloc(1, sizeof(*r));
        r->type = REDIS_REPLY_ARRAY;
        r->elements = 2 * n;
        r->element = calloc(2 * n, sizeof(*r->element));
        for (size_t i = 0; i < 2 * n; i++) {
                redisReply *e = calloc(1, sizeof(*e));
                e->type = REDIS_REPLY_STRING;
                e->str = strdup(kv[i]);
                e->len = strlen(kv[i]);
                r->element[i] = e;
        }
        return r;
}

static void test_cold_field_saved_and_loaded(void)
{
        fd_tenant_conf tc = tenant(30, 48);
        const char *kv[] = {"layout", "1",  "stage",      "sql",
                            "cycle",  "2",  "cold",       "sql",
                            "fit",    "10", "engagement", "20"};
        redisReply *r = hash_reply(kv, 6);
        fd_lead *lead = fd_lead_new("acme", "L1", &tc);
        fd_resp out = {0};

        FD_CHECK_INT(fd_lead_load(lead, r), 0);
        FD_CHECK_INT(lead->cold, FD_STAGE_SQL);
        FD_CHECK_INT(lead->stored.full, 0);
        /* Leaving the stage removes the field: HDEL cold. */
        lead->cold = FD_STAGE_NONE;
        FD_CHECK_INT(fd_lead_save(lead, FD_SV("fd"), &out), 0);
        FD_CHECK(out.buf.len > 0 &&
                 memmem(out.buf.data, out.buf.len, "HDEL", 4) != NULL);
        FD_CHECK(memmem(out.buf.data, out.buf.len, "$4\r\ncold\r\n", 10) !=
                 NULL);
        /* A value that is not mql or sql is a field of another shape: the
         * next save rewrites the hash. */
        fd_lead_destroy(lead);
        freeReplyObject(r);
        const char *bad[] = {"layout", "1", "stage", "sql", "cold", "won"};
        r = hash_reply(bad, 3);
        lead = fd_lead_new("acme", "L1", &tc);
        FD_CHECK_INT(fd_lead_load(lead, r), 0);
        FD_CHECK_INT(lead->cold, FD_STAGE_NONE);
        FD_CHECK_INT(lead->stored.full, 1);
        fd_lead_destroy(lead);
        freeReplyObject(r);
        fd_resp_free(&out);
}

int main(void)
{
        FD_RUN(test_deadline_of_each_stage);
        FD_RUN(test_window_zero_is_off);
        FD_RUN(test_value);
        FD_RUN(test_cold_field_saved_and_loaded);
        return FD_DONE();
}
