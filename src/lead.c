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

/* Returns a lead owned by the caller: one block holds the lead, its two
 * awarded arrays and its ids (a lead's hot data close together, one
 * allocation). */
fd_lead *fd_lead_new(const char *tenant_id, const char *lead_id,
                     const fd_tenant_conf *tconf)
{
        size_t rules = (tconf->score.rule_cnt + 1) * sizeof(int32_t);
        size_t tl = strlen(tenant_id) + 1, ll = strlen(lead_id) + 1;
        fd_lead *lead = calloc(1, sizeof(*lead) + 2 * rules + tl + ll);
        if (!lead)
                return NULL;
        char *at = (char *)(lead + 1); /* int32_t-aligned after the lead */
        lead->awarded = (int32_t *)at;
        lead->stored.awarded = (int32_t *)(at + rules);
        lead->tenant_id = memcpy(at + 2 * rules, tenant_id, tl);
        lead->lead_id = memcpy(at + 2 * rules + tl, lead_id, ll);
        lead->tenant_len = tl - 1;
        lead->lead_len = ll - 1;
        lead->tconf = tconf;
        lead->stored.full = 1;
        return lead;
}

void fd_lead_destroy(fd_lead *lead)
{
        if (!lead)
                return;
        free(lead->created_event);
        free(lead->source_channel);
        free(lead->source_campaign);
        free(lead->persona);
        free(lead->opportunity_id);
        free(lead->awards);
        free(lead->stitched);
        free(lead);
}

/* The hash field names of fd_lead_str. */
static const char *const str_names[FD_LEAD_STR__COUNT] = {
        "created_event", "source_channel", "source_campaign",
        "persona",       "opportunity_id", "awards"};

static char **str_field(fd_lead *lead, fd_lead_str f)
{
        switch (f) {
        case FD_LEAD_CREATED_EVENT:
                return &lead->created_event;
        case FD_LEAD_SOURCE_CHANNEL:
                return &lead->source_channel;
        case FD_LEAD_SOURCE_CAMPAIGN:
                return &lead->source_campaign;
        case FD_LEAD_PERSONA:
                return &lead->persona;
        case FD_LEAD_OPPORTUNITY_ID:
                return &lead->opportunity_id;
        default:
                return &lead->awards;
        }
}

void fd_lead_set(fd_lead *lead, fd_lead_str f, const char *v)
{
        char **dst = str_field(lead, f);
        if (*dst == v || (*dst && v && strcmp(*dst, v) == 0))
                return;
        fd_str_set(dst, v);
        lead->str_changed |= 1u << f;
}

void fd_lead_mark(fd_lead *lead, fd_lead_str f)
{
        lead->str_changed |= 1u << f;
}

/* Takes the current state as what Redis holds. */
static void take_as_stored(fd_lead *lead)
{
        fd_lead_stored *st = &lead->stored;
        st->full = 0;
        st->lc = lead->lc;
        st->fit = lead->fit;
        st->engagement = lead->engagement;
        st->created_at = lead->created_at;
        st->updated_at = lead->updated_at;
        st->cold = lead->cold;
        st->touches_max = lead->touches_max;
        st->scores_max = lead->scores_max;
        memcpy(st->awarded, lead->awarded,
               lead->tconf->score.rule_cnt * sizeof(int32_t));
        st->str_was = 0;
        for (int i = 0; i < FD_LEAD_STR__COUNT; i++)
                if (*str_field(lead, (fd_lead_str)i))
                        st->str_was |= 1u << i;
        lead->str_changed = 0;
}

/* The history_bound field "T,S" into the lead's bounds; both stay unknown
 * (-1) unless both are counts. */
static void load_bounds(fd_lead *lead, const char *v)
{
        char *end;
        long t = strtol(v, &end, 10), s;
        if (end == v || *end != ',' || t < 0 || t > INT32_MAX)
                return;
        v = end + 1;
        s = strtol(v, &end, 10);
        if (end == v || *end || s < 0 || s > INT32_MAX)
                return;
        lead->touches_max = (int32_t)t;
        lead->scores_max = (int32_t)s;
}

/* The history_bound field's value of the lead's bounds into buf (without
 * printf: most saves write it). */
static const char *bounds_str(const fd_lead *lead, char buf[48])
{
        size_t n = fd_fmt_i64(buf, lead->touches_max);
        buf[n++] = ',';
        n += fd_fmt_i64(buf + n, lead->scores_max);
        buf[n] = '\0';
        return buf;
}

/* Loads one hash field; returns 0 for a field this config writes, -1 for
 * another. */
static int load_field(fd_lead *lead, const char *f, const char *v)
{
        const fd_score_model *model = &lead->tconf->score;
        if (strcmp(f, "layout") == 0)
                return 0;
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
        else if (strcmp(f, "cold") == 0) {
                lead->cold = fd_stage_parse(v);
                if (lead->cold != FD_STAGE_MQL && lead->cold != FD_STAGE_SQL) {
                        lead->cold = FD_STAGE_NONE;
                        return -1;
                }
        } else if (strcmp(f, "created_event") == 0)
                fd_str_set(&lead->created_event, v);
        else if (strcmp(f, "source_channel") == 0)
                fd_str_set(&lead->source_channel, v);
        else if (strcmp(f, "source_campaign") == 0)
                fd_str_set(&lead->source_campaign, v);
        else if (strcmp(f, "persona") == 0)
                fd_str_set(&lead->persona, v);
        else if (strcmp(f, "opportunity_id") == 0)
                fd_str_set(&lead->opportunity_id, v);
        else if (strcmp(f, "awards") == 0)
                fd_str_set(&lead->awards, v);
        else if (strcmp(f, "history_bound") == 0)
                load_bounds(lead, v);
        else if (strncmp(f, "entered:", 8) == 0) {
                fd_stage s = fd_stage_parse(f + 8);
                if (s == FD_STAGE_NONE)
                        return -1;
                lead->lc.entered_at[s] = strtoll(v, NULL, 10);
        } else if (strncmp(f, "implied:", 8) == 0) {
                fd_stage s = fd_stage_parse(f + 8);
                if (s == FD_STAGE_NONE)
                        return -1;
                lead->lc.implied_mask |= 1u << s;
        } else if (strncmp(f, "rule:", 5) == 0) {
                for (size_t i = 0; i < model->rule_cnt; i++)
                        if (strcmp(model->rules[i].name, f + 5) == 0) {
                                lead->awarded[i] = (int32_t)strtol(v, NULL, 10);
                                return 0;
                        }
                return -1;
        } else
                return -1;
        return 0;
}

int fd_lead_load(fd_lead *lead, const redisReply *reply)
{
        int odd = 0;

        if (reply->type != REDIS_REPLY_ARRAY)
                return -1;
        lead->touches_max = lead->scores_max = -1; /* unless stored */
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
                const redisReply *f = reply->element[i];
                const redisReply *v = reply->element[i + 1];
                if (f->type != REDIS_REPLY_STRING ||
                    v->type != REDIS_REPLY_STRING ||
                    load_field(lead, f->str, v->str) < 0)
                        odd = 1;
        }
        lead->exists = reply->elements > 0;
        if (!lead->exists) /* new to Redis: its zsets are empty */
                lead->touches_max = lead->scores_max = 0;
        take_as_stored(lead);
        /* A hash with fields this config does not write (a rule since
         * removed) is rewritten whole at its save. A rule without a field
         * (one added since, or one that awarded nothing) is at 0. */
        lead->stored.full = !lead->exists || odd;
        return 0;
}

/* The per-stage field names, "entered:<stage>" and "implied:<stage>". */
#define ENTERED(stage, name) [stage] = "entered:" name,
#define IMPLIED(stage, name) [stage] = "implied:" name,
static const char *const entered_field[FD_STAGE__COUNT] = {
        FD_STAGE_NAMES(ENTERED)};
static const char *const implied_field[FD_STAGE__COUNT] = {
        FD_STAGE_NAMES(IMPLIED)};
#undef ENTERED
#undef IMPLIED

const char *fd_lead_stage_field(int implied, fd_stage stage)
{
        if ((int)stage <= FD_STAGE_NONE || stage >= FD_STAGE__COUNT)
                return NULL;
        return implied ? implied_field[stage] : entered_field[stage];
}

/* One pass over the hash fields: with st NULL every present field is
 * changed (a full write). Counts the fields to set (*set_cnt) and to
 * delete (*del_cnt); appends the field/value pairs to set to set, and the
 * names of the fields to delete to del, when they are given. */
static int walk(fd_lead *lead, const fd_lead_stored *st, fd_resp *set,
                int *set_cnt, fd_resp *del, int *del_cnt)
{
        const fd_score_model *model = &lead->tconf->score;
        char bounds[48];
        int rc = 0;

        /* name, present now?, changed?, present in Redis?, value written by
         * put: a field to set (its name and value written to set, when
         * given) or to delete (its name written to del, when given),
         * counted. */
#define FIELD(name, present, changed, was, put)                                \
        do {                                                                   \
                if ((present) && (!st || (changed))) {                         \
                        (*set_cnt)++;                                          \
                        if (set)                                               \
                                rc |= fd_resp_str(set, name) || (put);         \
                } else if (st && !(present) && (was)) {                        \
                        (*del_cnt)++;                                          \
                        if (del)                                               \
                                rc |= fd_resp_str(del, name);                  \
                }                                                              \
        } while (0)
/* Values are only formatted when written. */
#define NUM(v) fd_resp_i64(set, (v))
#define STR(v) fd_resp_str(set, (v))

        FIELD("layout", 1, 0, 1, STR("1"));
        FIELD("stage", 1, st->lc.stage != lead->lc.stage, 1,
              STR(fd_stage_name(lead->lc.stage)));
        FIELD("cycle", 1, st->lc.cycle != lead->lc.cycle, 1,
              NUM(lead->lc.cycle));
        FIELD("fit", 1, st->fit != lead->fit, 1, NUM(lead->fit));
        FIELD("engagement", 1, st->engagement != lead->engagement, 1,
              NUM(lead->engagement));
        FIELD("created_at", 1, st->created_at != lead->created_at, 1,
              NUM(lead->created_at));
        FIELD("updated_at", 1, st->updated_at != lead->updated_at, 1,
              NUM(lead->updated_at));
        FIELD("cold", lead->cold != FD_STAGE_NONE, st->cold != lead->cold,
              st->cold != FD_STAGE_NONE, STR(fd_stage_name(lead->cold)));
        for (int i = 0; i < FD_LEAD_STR__COUNT; i++) {
                const char *cur = *str_field(lead, (fd_lead_str)i);
                unsigned bit = 1u << i;
                FIELD(str_names[i], cur != NULL, lead->str_changed & bit,
                      st->str_was & bit, STR(cur));
        }
        for (int s = 1; s < FD_STAGE__COUNT; s++) {
                int64_t at = lead->lc.entered_at[s];
                uint32_t bit = 1u << s;

                FIELD(entered_field[s], at != 0, st->lc.entered_at[s] != at,
                      st->lc.entered_at[s] != 0, NUM(at));
                FIELD(implied_field[s], (lead->lc.implied_mask & bit) != 0,
                      !(st->lc.implied_mask & bit),
                      (st->lc.implied_mask & bit) != 0, STR("1"));
        }
        /* An absent rule field is 0: a new lead's hash holds only the
         * rules that awarded it something. */
        for (size_t i = 0; i < model->rule_cnt; i++)
                FIELD(model->rules[i].field, lead->awarded[i] != 0,
                      st->awarded[i] != lead->awarded[i], st->awarded[i] != 0,
                      NUM(lead->awarded[i]));
        FIELD("history_bound", lead->touches_max >= 0 && lead->scores_max >= 0,
              st->touches_max != lead->touches_max ||
                      st->scores_max != lead->scores_max,
              st->touches_max >= 0 && st->scores_max >= 0,
              STR(bounds_str(lead, bounds)));
#undef STR
#undef NUM
#undef FIELD
        return rc;
}

int fd_lead_save(fd_lead *lead, fd_sv prefix, fd_resp *r)
{
        const fd_lead_stored *st = lead->stored.full ? NULL : &lead->stored;
        int set = 0, del = 0, again = 0, rc = 0;
        size_t hset;

        /* A new lead's hash was absent when read, and only this instance
         * (fenced by its epochs) writes it: its HSET needs no DEL first. */
        if (!st && lead->exists)
                rc |= fd_resp_cmd(r, 2) || fd_resp_str(r, "DEL") ||
                      fd_key_lead(r, prefix, FD_LEAD_TENANT(lead),
                                  FD_LEAD_ID(lead));
        /* One walk writes the HSET's fields (the command is dropped when
         * there are none) and counts those to delete. */
        hset = fd_resp_cmd_begin(r);
        rc |= fd_resp_str(r, "HSET") ||
              fd_key_lead(r, prefix, FD_LEAD_TENANT(lead), FD_LEAD_ID(lead)) ||
              walk(lead, st, r, &set, NULL, &del);
        rc |= fd_resp_cmd_end(r, hset, set ? 2 + 2 * set : 0);
        if (del) /* rare: a field the lead no longer has */
                rc |= fd_resp_cmd(r, 2 + del) || fd_resp_str(r, "HDEL") ||
                      fd_key_lead(r, prefix, FD_LEAD_TENANT(lead),
                                  FD_LEAD_ID(lead)) ||
                      walk(lead, st, NULL, &again, r, &again);
        take_as_stored(lead);
        lead->exists = 1;
        return rc ? -1 : 0;
}
