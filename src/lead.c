/* funneld — lead state load/save. */
#include "lead.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "keys.h"

void fd_str_set(char **dst, const char *src)
{
        char *copy = src ? strdup(src) : NULL;
        free(*dst);
        *dst = copy;
}

/* Returns a lead owned by the caller. */
fd_lead *fd_lead_new(const char *tenant_id, const char *lead_id,
                     const fd_tenant_conf *tconf)
{
        fd_lead *lead = calloc(1, sizeof(*lead));
        if (!lead)
                return NULL;
        lead->tenant_id = strdup(tenant_id);
        lead->lead_id = strdup(lead_id);
        lead->tconf = tconf;
        lead->awarded = calloc(tconf->score.rule_cnt + 1, sizeof(int32_t));
        if (!lead->tenant_id || !lead->lead_id || !lead->awarded) {
                fd_lead_destroy(lead);
                return NULL;
        }
        return lead;
}

void fd_lead_destroy(fd_lead *lead)
{
        if (!lead)
                return;
        free(lead->tenant_id);
        free(lead->lead_id);
        free(lead->awarded);
        free(lead->created_event);
        free(lead->source_channel);
        free(lead->source_campaign);
        free(lead->persona);
        free(lead->opportunity_id);
        free(lead);
}

static void load_field(fd_lead *lead, const char *f, const char *v)
{
        const fd_score_model *model = &lead->tconf->score;
        if (strcmp(f, "stage") == 0)
                lead->lc.stage = fd_stage_parse(v);
        else if (strcmp(f, "cycle") == 0)
                lead->lc.cycle = (int32_t)strtol(v, NULL, 10);
        else if (strcmp(f, "fit") == 0)
                lead->fit = (int32_t)strtol(v, NULL, 10);
        else if (strcmp(f, "engagement") == 0)
                lead->engagement = (int32_t)strtol(v, NULL, 10);
        else if (strcmp(f, "created_at") == 0)
                lead->created_at = strtoll(v, NULL, 10);
        else if (strcmp(f, "updated_at") == 0)
                lead->updated_at = strtoll(v, NULL, 10);
        else if (strcmp(f, "created_event") == 0)
                fd_str_set(&lead->created_event, v);
        else if (strcmp(f, "source_channel") == 0)
                fd_str_set(&lead->source_channel, v);
        else if (strcmp(f, "source_campaign") == 0)
                fd_str_set(&lead->source_campaign, v);
        else if (strcmp(f, "persona") == 0)
                fd_str_set(&lead->persona, v);
        else if (strcmp(f, "opportunity_id") == 0)
                fd_str_set(&lead->opportunity_id, v);
        else if (strncmp(f, "entered:", 8) == 0) {
                fd_stage s = fd_stage_parse(f + 8);
                if (s != FD_STAGE_NONE)
                        lead->lc.entered_at[s] = strtoll(v, NULL, 10);
        } else if (strncmp(f, "implied:", 8) == 0) {
                fd_stage s = fd_stage_parse(f + 8);
                if (s != FD_STAGE_NONE)
                        lead->lc.implied_mask |= 1u << s;
        } else if (strncmp(f, "rule:", 5) == 0) {
                for (size_t i = 0; i < model->rule_cnt; i++)
                        if (strcmp(model->rules[i].name, f + 5) == 0)
                                lead->awarded[i] = (int32_t)strtol(v, NULL, 10);
        }
}

int fd_lead_load(fd_lead *lead, const redisReply *reply)
{
        if (reply->type != REDIS_REPLY_ARRAY)
                return -1;
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
                const redisReply *f = reply->element[i];
                const redisReply *v = reply->element[i + 1];
                if (f->type == REDIS_REPLY_STRING &&
                    v->type == REDIS_REPLY_STRING)
                        load_field(lead, f->str, v->str);
        }
        lead->exists = reply->elements > 0;
        return 0;
}

static int put_str(fd_resp *r, const char *f, const char *v)
{
        return fd_resp_str(r, f) || fd_resp_str(r, v);
}

static int put_i64(fd_resp *r, const char *f, int64_t v)
{
        return fd_resp_str(r, f) || fd_resp_i64(r, v);
}

/* Counts the HSET arguments fd_lead_save writes after "HSET key". */
static int field_count(const fd_lead *lead)
{
        int n = 7; /* stage cycle fit engagement created_at updated_at +1 */
        const char *opt[] = {lead->created_event, lead->source_channel,
                             lead->source_campaign, lead->persona,
                             lead->opportunity_id};
        for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
                n += opt[i] != NULL;
        for (int s = 1; s < FD_STAGE__COUNT; s++) {
                n += lead->lc.entered_at[s] != 0;
                n += (lead->lc.implied_mask >> s) & 1u;
        }
        n += (int)lead->tconf->score.rule_cnt;
        return n;
}

int fd_lead_save(const fd_lead *lead, const char *prefix, fd_resp *r)
{
        const fd_score_model *model = &lead->tconf->score;
        char f[256];
        int rc = 0;

        rc |= fd_resp_cmd(r, 2) || fd_resp_str(r, "DEL") ||
              fd_key_lead(r, prefix, lead->tenant_id, lead->lead_id);
        rc |= fd_resp_cmd(r, 2 + 2 * field_count(lead)) ||
              fd_resp_str(r, "HSET") ||
              fd_key_lead(r, prefix, lead->tenant_id, lead->lead_id);
        rc |= put_str(r, "layout", "1");
        rc |= put_str(r, "stage", fd_stage_name(lead->lc.stage));
        rc |= put_i64(r, "cycle", lead->lc.cycle);
        rc |= put_i64(r, "fit", lead->fit);
        rc |= put_i64(r, "engagement", lead->engagement);
        rc |= put_i64(r, "created_at", lead->created_at);
        rc |= put_i64(r, "updated_at", lead->updated_at);
        if (lead->created_event)
                rc |= put_str(r, "created_event", lead->created_event);
        if (lead->source_channel)
                rc |= put_str(r, "source_channel", lead->source_channel);
        if (lead->source_campaign)
                rc |= put_str(r, "source_campaign", lead->source_campaign);
        if (lead->persona)
                rc |= put_str(r, "persona", lead->persona);
        if (lead->opportunity_id)
                rc |= put_str(r, "opportunity_id", lead->opportunity_id);
        for (int s = 1; s < FD_STAGE__COUNT; s++) {
                if (lead->lc.entered_at[s]) {
                        fd_fmt(f, sizeof(f), "entered:%s", fd_stage_name(s));
                        rc |= put_i64(r, f, lead->lc.entered_at[s]);
                }
                if ((lead->lc.implied_mask >> s) & 1u) {
                        fd_fmt(f, sizeof(f), "implied:%s", fd_stage_name(s));
                        rc |= put_str(r, f, "1");
                }
        }
        for (size_t i = 0; i < model->rule_cnt; i++) {
                fd_fmt(f, sizeof(f), "rule:%s", model->rules[i].name);
                rc |= put_i64(r, f, lead->awarded[i]);
        }
        return rc ? -1 : 0;
}
