/* Unit tests of a lead's save: a new lead is written whole (HSET), a hash
 * of another shape too after a DEL, a known one only by what changed (HSET
 * of the changed fields, HDEL of the removed ones). */
#include <stdlib.h>

#include "fdtest.h"
#include "lead.h"

static fd_score_rule rules[2] = {{.name = "visit", .field = "rule:visit"},
                                 {.name = "form", .field = "rule:form"}};

static fd_tenant_conf tenant(void)
{
        fd_tenant_conf tc = {0};

        tc.score.rules = rules;
        tc.score.rule_cnt = 2;
        return tc;
}

/* The commands of r, one per line, arguments separated by spaces. */
static const char *commands(const fd_resp *r)
{
        static char out[4096];
        const char *p = r->buf.data, *end = r->buf.data + r->buf.len;
        size_t n = 0;

        out[0] = '\0';
        while (p && p < end) {
                long argc = strtol(p + 1, (char **)&p, 10);

                p += 2;
                for (long i = 0; i < argc; i++) {
                        long len = strtol(p + 1, (char **)&p, 10);

                        p += 2;
                        n += (size_t)snprintf(out + n, sizeof(out) - n,
                                              "%s%.*s", i ? " " : "", (int)len,
                                              p);
                        p += len + 2;
                }
                n += (size_t)snprintf(out + n, sizeof(out) - n, "\n");
        }
        return out;
}

static const char *save(fd_lead *lead, fd_resp *r)
{
        fd_resp_reset(r);
        FD_CHECK_INT(fd_lead_save(lead, FD_SV("fd"), r), 0);
        return commands(r);
}

static void test_save_writes_what_changed(void)
{
        fd_tenant_conf tc = tenant();
        fd_lead *lead = fd_lead_new("acme", "L1", &tc);
        fd_resp r = {0};

        lead->lc.stage = FD_STAGE_LEAD;
        lead->lc.cycle = 1;
        lead->lc.entered_at[FD_STAGE_LEAD] = 1000;
        lead->engagement = 5;
        lead->awarded[0] = 5;
        lead->created_at = lead->updated_at = 1000;
        fd_lead_set(lead, FD_LEAD_SOURCE_CHANNEL, "email");
        /* New (its hash was absent when read): no DEL before the HSET. */
        FD_CHECK_STR(save(lead, &r),
                     "HSET fd:{acme}:lead:L1 layout 1 stage lead cycle 1 fit 0 "
                     "engagement 5 created_at 1000 updated_at 1000 "
                     "source_channel email entered:lead 1000 rule:visit 5 "
                     "history_bound 0,0\n");
        /* Nothing changed: nothing written. */
        FD_CHECK_STR(save(lead, &r), "");
        /* A jump to SQL implies MQL; a score and a persona change. */
        lead->lc.stage = FD_STAGE_SQL;
        lead->lc.entered_at[FD_STAGE_MQL] = 2000;
        lead->lc.entered_at[FD_STAGE_SQL] = 2000;
        lead->lc.implied_mask |= 1u << FD_STAGE_MQL;
        lead->engagement = 15;
        lead->awarded[1] = 10;
        lead->updated_at = 2000;
        fd_lead_set(lead, FD_LEAD_PERSONA, "cmo");
        FD_CHECK_STR(save(lead, &r),
                     "HSET fd:{acme}:lead:L1 stage sql engagement 15 "
                     "updated_at 2000 persona cmo entered:mql 2000 "
                     "implied:mql 1 entered:sql 2000 rule:form 10\n");
        /* The same persona again (another copy): nothing to write. A list
         * changed in place is written once marked. */
        char cmo[] = "cmo";
        fd_lead_set(lead, FD_LEAD_PERSONA, cmo);
        FD_CHECK_STR(save(lead, &r), "");
        fd_lead_set(lead, FD_LEAD_AWARDS, "2000:10");
        FD_CHECK_STR(save(lead, &r), "HSET fd:{acme}:lead:L1 awards 2000:10\n");
        lead->awards[0] = '3';
        FD_CHECK_STR(save(lead, &r), "");
        fd_lead_mark(lead, FD_LEAD_AWARDS);
        FD_CHECK_STR(save(lead, &r), "HSET fd:{acme}:lead:L1 awards 3000:10\n");
        fd_lead_set(lead, FD_LEAD_AWARDS, NULL);
        /* A new cycle: the stays and flags of the old one go. */
        lead->lc.stage = FD_STAGE_LEAD;
        lead->lc.cycle = 2;
        memset(lead->lc.entered_at, 0, sizeof(lead->lc.entered_at));
        lead->lc.entered_at[FD_STAGE_LEAD] = 3000;
        lead->lc.implied_mask = 0;
        lead->engagement = 0;
        lead->awarded[0] = lead->awarded[1] = 0;
        lead->updated_at = 3000;
        fd_lead_set(lead, FD_LEAD_PERSONA, NULL);
        FD_CHECK_STR(save(lead, &r),
                     "HSET fd:{acme}:lead:L1 stage lead cycle 2 engagement 0 "
                     "updated_at 3000 entered:lead 3000\n"
                     "HDEL fd:{acme}:lead:L1 persona awards entered:mql "
                     "implied:mql entered:sql rule:visit rule:form\n");
        fd_resp_free(&r);
        fd_lead_destroy(lead);
}

/* The stage field names are "entered:" / "implied:" and the stage name. */
static void test_stage_fields(void)
{
        char want[64];

        for (int s = FD_STAGE_LEAD; s < FD_STAGE__COUNT; s++) {
                snprintf(want, sizeof(want), "entered:%s", fd_stage_name(s));
                FD_CHECK_STR(fd_lead_stage_field(0, s), want);
                snprintf(want, sizeof(want), "implied:%s", fd_stage_name(s));
                FD_CHECK_STR(fd_lead_stage_field(1, s), want);
        }
        FD_CHECK(fd_lead_stage_field(0, FD_STAGE_NONE) == NULL);
        FD_CHECK(fd_lead_stage_field(1, FD_STAGE__COUNT) == NULL);
}

/* An HGETALL reply of n/2 field-value pairs. */
static redisReply *hash_reply(const char **kv, size_t n)
{
        redisReply *rep = calloc(1, sizeof(*rep));

        rep->type = REDIS_REPLY_ARRAY;
        rep->elements = n;
        rep->element = calloc(n, sizeof(*rep->element));
        for (size_t i = 0; i < n; i++) {
                rep->element[i] = calloc(1, sizeof(**rep->element));
                rep->element[i]->type = REDIS_REPLY_STRING;
                rep->element[i]->str = (char *)kv[i];
                rep->element[i]->len = strlen(kv[i]);
        }
        return rep;
}

static void free_reply(redisReply *rep)
{
        for (size_t i = 0; i < rep->elements; i++)
                free(rep->element[i]);
        free(rep->element);
        free(rep);
}

static void test_loaded_lead(void)
{
        fd_tenant_conf tc = tenant();
        const char *same[] = {
                "layout",     "1",  "stage",        "mql", "cycle",       "1",
                "fit",        "3",  "engagement",   "20",  "created_at",  "10",
                "updated_at", "20", "entered:lead", "10",  "entered:mql", "20",
                "rule:visit", "20", "rule:form",    "0"};
        const char *stale[] = {"layout",     "1",  "stage",        "lead",
                               "cycle",      "1",  "fit",          "0",
                               "engagement", "1",  "created_at",   "10",
                               "updated_at", "10", "entered:lead", "10",
                               "rule:visit", "1",  "rule:removed", "4"};
        const char *bounded[] = {"layout",        "1",  "stage",        "lead",
                                 "cycle",         "1",  "fit",          "0",
                                 "engagement",    "0",  "created_at",   "10",
                                 "updated_at",    "10", "entered:lead", "10",
                                 "history_bound", "3,2"};
        const char *bare[] = {"layout",     "1",  "stage",        "lead",
                              "cycle",      "1",  "fit",          "0",
                              "engagement", "0",  "created_at",   "10",
                              "updated_at", "10", "entered:lead", "10"};
        redisReply *rep = hash_reply(same, sizeof(same) / sizeof(*same));
        fd_lead *lead = fd_lead_new("acme", "L2", &tc);
        fd_resp r = {0};

        FD_CHECK_INT(fd_lead_load(lead, rep), 0);
        free_reply(rep);
        FD_CHECK_INT(lead->engagement, 20);
        FD_CHECK_STR(save(lead, &r), "");
        lead->fit = 4;
        FD_CHECK_STR(save(lead, &r), "HSET fd:{acme}:lead:L2 fit 4\n");
        fd_lead_destroy(lead);
        /* A rule the config no longer has: rewritten whole, so the stale
         * field goes; rule:form, absent, is at 0 and stays absent. */
        rep = hash_reply(stale, sizeof(stale) / sizeof(*stale));
        lead = fd_lead_new("acme", "L3", &tc);
        FD_CHECK_INT(fd_lead_load(lead, rep), 0);
        free_reply(rep);
        FD_CHECK_STR(save(lead, &r),
                     "DEL fd:{acme}:lead:L3\n"
                     "HSET fd:{acme}:lead:L3 layout 1 stage lead cycle 1 fit 0 "
                     "engagement 1 created_at 10 updated_at 10 "
                     "entered:lead 10 rule:visit 1\n");
        FD_CHECK_STR(save(lead, &r), "");
        fd_lead_destroy(lead);
        /* No rule fields (none awarded yet, or rules added since): both at
         * 0, nothing to rewrite; an award writes its field alone. */
        rep = hash_reply(bare, sizeof(bare) / sizeof(*bare));
        lead = fd_lead_new("acme", "L4", &tc);
        FD_CHECK_INT(fd_lead_load(lead, rep), 0);
        free_reply(rep);
        FD_CHECK_INT(lead->awarded[0], 0);
        FD_CHECK_INT(lead->awarded[1], 0);
        FD_CHECK_STR(save(lead, &r), "");
        lead->awarded[1] = 10;
        FD_CHECK_STR(save(lead, &r), "HSET fd:{acme}:lead:L4 rule:form 10\n");
        /* Stored before funneld kept history_bound: not known (the batch
         * reads the sizes, process.c), nothing written while it is not. */
        FD_CHECK_INT(lead->touches_max, -1);
        FD_CHECK_INT(lead->scores_max, -1);
        fd_lead_destroy(lead);
        /* The bounds stored with the hash; written again when they move. */
        rep = hash_reply(bounded, sizeof(bounded) / sizeof(*bounded));
        lead = fd_lead_new("acme", "L5", &tc);
        FD_CHECK_INT(fd_lead_load(lead, rep), 0);
        free_reply(rep);
        FD_CHECK_INT(lead->touches_max, 3);
        FD_CHECK_INT(lead->scores_max, 2);
        FD_CHECK_STR(save(lead, &r), "");
        lead->touches_max = 4;
        FD_CHECK_STR(save(lead, &r),
                     "HSET fd:{acme}:lead:L5 history_bound 4,2\n");
        fd_lead_destroy(lead);
        /* A malformed one: not known, as when absent (replaced once the
         * batch has read the sizes). */
        static const char *const bad[] = {"3", "3,", ",2", "3,2x", "-1,2"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
                bounded[17] = bad[i];
                rep = hash_reply(bounded, sizeof(bounded) / sizeof(*bounded));
                lead = fd_lead_new("acme", "L6", &tc);
                FD_CHECK_INT(fd_lead_load(lead, rep), 0);
                free_reply(rep);
                FD_CHECK_INT(lead->touches_max, -1);
                FD_CHECK_INT(lead->scores_max, -1);
                FD_CHECK_STR(save(lead, &r), "");
                fd_lead_destroy(lead);
        }
        fd_resp_free(&r);
}

int main(void)
{
        FD_RUN(test_save_writes_what_changed);
        FD_RUN(test_stage_fields);
        FD_RUN(test_loaded_lead);
        return FD_DONE();
}
