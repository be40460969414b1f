/* funnelctl lead — one lead's journey: its hash, stage entries and touches
 * (its own merged with those of its anonymous ids, as docs/REDIS.md
 * describes). */
#include "ctl_cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const stages[] = {
        "lead", "mql", "sql", "opportunity", "closed_won", "closed_lost"};
#define STAGE_CNT (sizeof(stages) / sizeof(stages[0]))

typedef struct touch {
        int64_t ms;
        size_t seq;   /* read order: ties keep it */
        char *member; /* owned; split in place into the fields below */
        const char *event_id, *channel, *campaign, *type;
        char source[300];
} touch;

typedef struct touch_list {
        touch *items;
        size_t cnt, cap;
} touch_list;

enum {
        L_ID,
        L_STAGE,
        L_CYCLE,
        L_FIT,
        L_ENG,
        L_SRC_CH,
        L_SRC_CAMP,
        L_PERSONA,
        L_OPP,
        L_CREATED,
        L_CREATED_MS,
        L_CREATED_EV,
        L_UPDATED,
        L_UPDATED_MS,
        L_ANONS,
        L__CNT
};

static const ctl_col lead_cols[L__CNT] = {
        {"lead_id", CTL_STR, NULL},         {"stage", CTL_STR, NULL},
        {"cycle", CTL_INT, NULL},           {"fit", CTL_INT, NULL},
        {"engagement", CTL_INT, NULL},      {"source_channel", CTL_STR, NULL},
        {"source_campaign", CTL_STR, NULL}, {"persona", CTL_STR, NULL},
        {"opportunity_id", CTL_STR, NULL},  {"created_at", CTL_STR, NULL},
        {"created_at_ms", CTL_INT, NULL},   {"created_event", CTL_STR, NULL},
        {"updated_at", CTL_STR, NULL},      {"updated_at_ms", CTL_INT, NULL},
        {"anonymous_ids", CTL_STR, NULL},
};

enum { S_STAGE, S_AT, S_AT_MS, S_IMPLIED, S__CNT };

static const ctl_col stage_cols[S__CNT] = {
        {"stage", CTL_STR, NULL},
        {"entered_at", CTL_STR, NULL},
        {"entered_at_ms", CTL_INT, NULL},
        {"implied", CTL_BOOL, NULL},
};

enum {
        T_AT,
        T_AT_MS,
        T_EVENT,
        T_CHANNEL,
        T_CAMPAIGN,
        T_TYPE,
        T_SOURCE,
        T_MILESTONE,
        T__CNT
};

static const ctl_col touch_cols[T__CNT] = {
        {"at", CTL_STR, NULL},       {"at_ms", CTL_INT, NULL},
        {"event_id", CTL_STR, NULL}, {"channel", CTL_STR, NULL},
        {"campaign", CTL_STR, NULL}, {"type", CTL_STR, NULL},
        {"source", CTL_STR, NULL},   {"milestone", CTL_STR, NULL},
};

int ctl_lead_check(ctl_ctx *ctx)
{
        if (!ctx->opt.tenant || !ctx->opt.lead_id) {
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "lead needs --tenant T and a lead id: funnelctl "
                         "lead --tenant T LEAD_ID");
                return CTL_EXIT_USAGE;
        }
        return CTL_EXIT_OK;
}

static void set_time(ctl_table *t, size_t col_iso, size_t col_ms,
                     const char *value)
{
        int64_t ms;
        char iso[40];
        if (!value || ctl_parse_i64(value, &ms)) {
                ctl_set_str(t, col_ms, value);
                return;
        }
        ctl_iso_ms(ms, iso, sizeof(iso));
        ctl_set_str(t, col_iso, iso);
        ctl_set_int(t, col_ms, ms);
}

/* Splits "event_id|channel|campaign|type" in place. */
static void split_member(touch *t)
{
        char *p = t->member;
        const char **fields[4] = {&t->event_id, &t->channel, &t->campaign,
                                  &t->type};
        for (int i = 0; i < 4; i++) {
                *fields[i] = p;
                if (i == 3 || !p)
                        break;
                p = strchr(p, '|');
                if (p)
                        *p++ = '\0';
        }
}

/* Appends the touches of zset key, skipping event ids already listed. */
static int read_touches(ctl_ctx *ctx, const char *key, const char *source,
                        touch_list *list)
{
        redisReply *reply =
                ctl_redis_cmd(&ctx->redis, ctx->errstr, sizeof(ctx->errstr),
                              "ZRANGE %s 0 -1 WITHSCORES", key);
        if (!reply)
                return CTL_EXIT_RUNTIME;
        for (size_t i = 0;
             reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements;
             i += 2) {
                redisReply *m = reply->element[i], *s = reply->element[i + 1];
                touch t = {0};
                int dup = 0;
                if (m->type != REDIS_REPLY_STRING ||
                    s->type != REDIS_REPLY_STRING)
                        continue;
                t.ms = (int64_t)strtod(s->str, NULL);
                t.member = strdup(m->str);
                if (!t.member)
                        goto oom;
                split_member(&t);
                for (size_t j = 0; j < list->cnt && !dup; j++)
                        dup = !strcmp(list->items[j].event_id, t.event_id);
                if (dup) {
                        free(t.member);
                        continue;
                }
                if (list->cnt == list->cap) {
                        size_t cap = list->cap ? list->cap * 2 : 64;
                        touch *items =
                                realloc(list->items, cap * sizeof(*items));
                        if (!items) {
                                free(t.member);
                                goto oom;
                        }
                        list->items = items;
                        list->cap = cap;
                }
                t.seq = list->cnt;
                snprintf(t.source, sizeof(t.source), "%s", source);
                list->items[list->cnt++] = t;
        }
        freeReplyObject(reply);
        return CTL_EXIT_OK;
oom:
        freeReplyObject(reply);
        snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory reading %s",
                 key);
        return CTL_EXIT_RUNTIME;
}

enum { H_AT, H_AT_MS, H_EVENT, H_FIT, H_ENG, H__CNT };

static const ctl_col score_cols[H__CNT] = {
        {"at", CTL_STR, NULL},         {"at_ms", CTL_INT, NULL},
        {"event_id", CTL_STR, NULL},   {"fit", CTL_INT, NULL},
        {"engagement", CTL_INT, NULL},
};

/* The score history P:{T}:scores:L: one row per event that changed the
 * scores, oldest first, with the scores after it. */
static int add_score_rows(ctl_ctx *ctx)
{
        char key[1024], suffix[900];
        snprintf(suffix, sizeof(suffix), "scores:%s", ctx->opt.lead_id);
        if (ctl_tenant_key(ctx, key, sizeof(key), suffix))
                return CTL_EXIT_RUNTIME;
        redisReply *reply =
                ctl_redis_cmd(&ctx->redis, ctx->errstr, sizeof(ctx->errstr),
                              "ZRANGE %s 0 -1 WITHSCORES", key);
        if (!reply)
                return CTL_EXIT_RUNTIME;
        ctl_table *t = ctl_doc_table(ctx->doc, "scores", score_cols, H__CNT);
        for (size_t i = 0;
             t && reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements;
             i += 2) {
                redisReply *m = reply->element[i], *s = reply->element[i + 1];
                int64_t fit, eng;
                if (m->type != REDIS_REPLY_STRING ||
                    s->type != REDIS_REPLY_STRING)
                        continue;
                /* "event_id|fit|engagement"; the event id has no '|' */
                char *last = strrchr(m->str, '|'), *mid = NULL;
                for (char *q = last; q && q > m->str && !mid; q--)
                        if (q[-1] == '|')
                                mid = q - 1;
                if (!mid)
                        continue;
                *last = '\0';
                if (ctl_parse_i64(mid + 1, &fit) ||
                    ctl_parse_i64(last + 1, &eng))
                        continue;
                ctl_row(t);
                set_time(t, H_AT, H_AT_MS, s->str);
                *mid = '\0';
                ctl_set_str(t, H_EVENT, m->str);
                ctl_set_int(t, H_FIT, fit);
                ctl_set_int(t, H_ENG, eng);
        }
        freeReplyObject(reply);
        return CTL_EXIT_OK;
}

static int cmp_touch(const void *a, const void *b)
{
        const touch *x = a, *y = b;
        if (x->ms != y->ms)
                return x->ms < y->ms ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Index of the last touch at or before the time in field, or -1. */
static long last_before(const ctl_hash *h, const char *field,
                        const touch_list *list)
{
        int64_t at;
        long idx = -1;
        const char *v = ctl_hash_get(h, field);
        if (!v || ctl_parse_i64(v, &at))
                return -1;
        for (size_t i = 0; i < list->cnt; i++)
                if (list->items[i].ms <= at)
                        idx = (long)i;
        return idx;
}

static void add_touch_rows(ctl_ctx *ctx, const ctl_hash *h,
                           const touch_list *list)
{
        ctl_table *t = ctl_doc_table(ctx->doc, "touches", touch_cols, T__CNT);
        const char *created = ctl_hash_get(h, "created_event");
        long opp = last_before(h, "entered:opportunity", list);
        long won = last_before(h, "entered:closed_won", list);
        for (size_t i = 0; i < list->cnt; i++) {
                const touch *x = &list->items[i];
                char iso[40], ms[32], milestone[96] = "";
                ctl_iso_ms(x->ms, iso, sizeof(iso));
                snprintf(ms, sizeof(ms), "%lld", (long long)x->ms);
                if (created && !strcmp(created, x->event_id))
                        strcat(milestone, "lead_creation");
                if ((long)i == opp)
                        strcat(milestone, milestone[0]
                                                  ? ",opportunity_creation"
                                                  : "opportunity_creation");
                if ((long)i == won)
                        strcat(milestone,
                               milestone[0] ? ",closed_won" : "closed_won");
                ctl_row(t);
                ctl_set_str(t, T_AT, iso);
                ctl_set_int(t, T_AT_MS, x->ms);
                ctl_set_str(t, T_EVENT, x->event_id);
                ctl_set_str(t, T_CHANNEL, x->channel);
                ctl_set_str(t, T_CAMPAIGN,
                            x->campaign && *x->campaign ? x->campaign : NULL);
                ctl_set_str(t, T_TYPE, x->type);
                ctl_set_str(t, T_SOURCE, x->source);
                ctl_set_str(t, T_MILESTONE, milestone[0] ? milestone : NULL);
        }
}

static void add_lead_rows(ctl_ctx *ctx, const ctl_hash *h, char **anons,
                          size_t anon_cnt)
{
        static const struct {
                size_t col;
                const char *field;
        } plain[] = {
                {L_STAGE, "stage"},
                {L_CYCLE, "cycle"},
                {L_FIT, "fit"},
                {L_ENG, "engagement"},
                {L_SRC_CH, "source_channel"},
                {L_SRC_CAMP, "source_campaign"},
                {L_PERSONA, "persona"},
                {L_OPP, "opportunity_id"},
                {L_CREATED_EV, "created_event"},
        };
        ctl_table *t = ctl_doc_table(ctx->doc, "lead", lead_cols, L__CNT);
        ctl_table *st = ctl_doc_table(ctx->doc, "stages", stage_cols, S__CNT);
        char joined[4096] = "";
        size_t n = 0;

        ctl_row(t);
        ctl_set_str(t, L_ID, ctx->opt.lead_id);
        for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
                ctl_set_str(t, plain[i].col, ctl_hash_get(h, plain[i].field));
        set_time(t, L_CREATED, L_CREATED_MS, ctl_hash_get(h, "created_at"));
        set_time(t, L_UPDATED, L_UPDATED_MS, ctl_hash_get(h, "updated_at"));
        for (size_t i = 0; i < anon_cnt && n < sizeof(joined); i++)
                n += snprintf(joined + n, sizeof(joined) - n, "%s%s",
                              i ? "," : "", anons[i]);
        ctl_set_str(t, L_ANONS, anon_cnt ? joined : NULL);

        for (size_t s = 0; s < STAGE_CNT; s++) {
                char field[64];
                const char *at, *implied;
                snprintf(field, sizeof(field), "entered:%s", stages[s]);
                if (!(at = ctl_hash_get(h, field)))
                        continue;
                snprintf(field, sizeof(field), "implied:%s", stages[s]);
                implied = ctl_hash_get(h, field);
                ctl_row(st);
                ctl_set_str(st, S_STAGE, stages[s]);
                set_time(st, S_AT, S_AT_MS, at);
                ctl_set_bool(st, S_IMPLIED, implied && !strcmp(implied, "1"));
        }
}

/* Fills *anons (sorted, owned by reply) from SMEMBERS P:{T}:anons:L. */
static int read_anons(ctl_ctx *ctx, redisReply **reply, char ***anons,
                      size_t *cnt)
{
        char key[1024];
        *anons = NULL;
        *cnt = 0;
        if (ctl_tenant_key(ctx, key, sizeof(key), "anons:") ||
            strlen(key) + strlen(ctx->opt.lead_id) >= sizeof(key))
                return CTL_EXIT_RUNTIME;
        strcat(key, ctx->opt.lead_id);
        *reply = ctl_redis_cmd(&ctx->redis, ctx->errstr, sizeof(ctx->errstr),
                               "SMEMBERS %s", key);
        if (!*reply)
                return CTL_EXIT_RUNTIME;
        if ((*reply)->type != REDIS_REPLY_ARRAY || !(*reply)->elements)
                return CTL_EXIT_OK;
        *anons = calloc((*reply)->elements, sizeof(**anons));
        if (!*anons) {
                snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory");
                return CTL_EXIT_RUNTIME;
        }
        for (size_t i = 0; i < (*reply)->elements; i++)
                if ((*reply)->element[i]->type == REDIS_REPLY_STRING)
                        (*anons)[(*cnt)++] = (*reply)->element[i]->str;
        qsort(*anons, *cnt, sizeof(**anons), cmp_str);
        return CTL_EXIT_OK;
}

static int not_found(ctl_ctx *ctx, const char *key)
{
        char alias[1024];
        redisReply *reply = NULL;
        if (snprintf(alias, sizeof(alias), "%s:{%s}:alias:%s", ctx->prefix,
                     ctx->opt.tenant, ctx->opt.lead_id) < (int)sizeof(alias))
                reply = redisCommand(ctx->redis.ctx, "GET %s", alias);
        if (reply && reply->type == REDIS_REPLY_STRING)
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "'%s' is an anonymous id, identified as lead '%s'; "
                         "run funnelctl lead --tenant %s %s",
                         ctx->opt.lead_id, reply->str, ctx->opt.tenant,
                         reply->str);
        else
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "lead '%s' not found for tenant '%s' (no key %s); "
                         "check the lead id and --tenant",
                         ctx->opt.lead_id, ctx->opt.tenant, key);
        if (reply)
                freeReplyObject(reply);
        return CTL_EXIT_NOTFOUND;
}

int ctl_lead_run(ctl_ctx *ctx)
{
        char key[1024], suffix[900], src[300];
        redisReply *anon_reply = NULL;
        char **anons = NULL;
        size_t anon_cnt = 0;
        touch_list list = {0};
        ctl_hash h = {0};
        int rc;

        if ((rc = ctl_check_tenant(ctx)) != CTL_EXIT_OK)
                return rc;
        rc = CTL_EXIT_RUNTIME;
        if ((size_t)snprintf(suffix, sizeof(suffix), "lead:%s",
                             ctx->opt.lead_id) >= sizeof(suffix) ||
            ctl_tenant_key(ctx, key, sizeof(key), suffix)) {
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "lead id is too long; check the id");
                return CTL_EXIT_USAGE;
        }
        if (ctl_redis_hgetall(&ctx->redis, key, &h, ctx->errstr,
                              sizeof(ctx->errstr)))
                return CTL_EXIT_RUNTIME;
        if (!h.cnt) {
                rc = not_found(ctx, key);
                goto done;
        }
        if (read_anons(ctx, &anon_reply, &anons, &anon_cnt))
                goto done;
        snprintf(suffix, sizeof(suffix), "touches:lead:%s", ctx->opt.lead_id);
        if (ctl_tenant_key(ctx, key, sizeof(key), suffix) ||
            read_touches(ctx, key, "lead", &list))
                goto done;
        for (size_t i = 0; i < anon_cnt; i++) {
                snprintf(suffix, sizeof(suffix), "touches:anon:%s", anons[i]);
                snprintf(src, sizeof(src), "anon:%s", anons[i]);
                if (ctl_tenant_key(ctx, key, sizeof(key), suffix) ||
                    read_touches(ctx, key, src, &list))
                        goto done;
        }
        if (list.cnt) /* items is NULL when none */
                qsort(list.items, list.cnt, sizeof(*list.items), cmp_touch);
        add_lead_rows(ctx, &h, anons, anon_cnt);
        add_touch_rows(ctx, &h, &list);
        if (add_score_rows(ctx))
                goto done;
        ctl_doc_note(ctx->doc,
                     "stage entry times are those of the current cycle; "
                     "touches are the newest processing.touch_max per id");
        rc = CTL_EXIT_OK;
done:
        for (size_t i = 0; i < list.cnt; i++)
                free(list.items[i].member);
        free(list.items);
        free(anons);
        if (anon_reply)
                freeReplyObject(anon_reply);
        ctl_hash_free(&h);
        return rc;
}
