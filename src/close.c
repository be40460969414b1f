/* funneld — closed-won attribution. */
#include "close.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "funneld/markov.h"
#include "keys.h"
#include "log.h"

void fd_apply_touches_free(fd_touch_list *list)
{
        for (size_t i = 0; i < list->cnt; i++) {
                free((char *)list->touches[i].event_id);
                free((char *)list->touches[i].channel);
                free((char *)list->touches[i].campaign);
        }
        free(list->touches);
        memset(list, 0, sizeof(*list));
}

/* Parses a touch member "event_id|channel|campaign|type" scored at, and adds
 * it unless its event id is already there. */
static int add_parsed(fd_touch_list *list, const char *member, int64_t at)
{
        const char *p1 = strchr(member, '|');
        const char *p2 = p1 ? strchr(p1 + 1, '|') : NULL;
        const char *p3 = p2 ? strchr(p2 + 1, '|') : NULL;
        if (!p3)
                return 0; /* not written by funneld: ignore */
        for (size_t i = 0; i < list->cnt; i++)
                if (strncmp(list->touches[i].event_id, member,
                            (size_t)(p1 - member)) == 0 &&
                    list->touches[i].event_id[p1 - member] == '\0')
                        return 0;
        if (list->cnt == list->cap) {
                size_t cap = list->cap ? list->cap * 2 : 64;
                fd_touch *t = realloc(list->touches, cap * sizeof(*t));
                if (!t)
                        return -1;
                list->touches = t;
                list->cap = cap;
        }
        fd_touch *t = &list->touches[list->cnt++];
        memset(t, 0, sizeof(*t));
        t->event_id = strndup(member, (size_t)(p1 - member));
        t->channel = strndup(p1 + 1, (size_t)(p2 - p1 - 1));
        t->campaign =
                p3 > p2 + 1 ? strndup(p2 + 1, (size_t)(p3 - p2 - 1)) : NULL;
        t->at = at;
        return t->event_id && t->channel ? 0 : -1;
}

static int cmp_touch(const void *a, const void *b)
{
        const fd_touch *x = a, *y = b;
        if (x->at != y->at)
                return x->at < y->at ? -1 : 1;
        return strcmp(x->event_id, y->event_id);
}

/* A member of a touch zset: stored (from a reply) or added by the batch. */
typedef struct cand {
        const char *m;
        size_t len;
        int64_t at;
} cand;

static int cmp_cand(const void *a, const void *b)
{
        const cand *x = a, *y = b;
        if (x->at != y->at)
                return x->at < y->at ? -1 : 1;
        size_t n = x->len < y->len ? x->len : y->len;
        int c = memcmp(x->m, y->m, n);
        return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Adds the touches in [lo, hi] of one key: the stored members (a
 * ZRANGE ... WITHSCORES reply, as committed before the batch) and the ones
 * the batch added before the close. When the batch added any, the key is
 * cut to its newest touch_max first, as a commit between them would have
 * trimmed it: where a batch ends does not change the credits. */
static int add_key(fd_processor *proc, const redisReply *rep,
                   const char *tenant, int anon, const char *id, int64_t lo,
                   int64_t hi)
{
        if (rep->type != REDIS_REPLY_ARRAY)
                return -1;
        size_t tl = strlen(tenant), il = strlen(id), pl = tl + 3 + il + 1;
        size_t n = rep->elements / 2, cap = n + 16, batch = 0;
        cand *c = malloc(cap * sizeof(*c));
        char *pre = malloc(pl);
        int rc = 0;
        if (!c || !pre) {
                free(c);
                free(pre);
                return -1;
        }
        memcpy(pre, tenant, tl + 1);
        pre[tl + 1] = anon ? 'a' : 'l';
        pre[tl + 2] = '\0';
        memcpy(pre + tl + 3, id, il + 1);
        for (size_t i = 0; i < n; i++)
                c[i] = (cand){rep->element[2 * i]->str,
                              rep->element[2 * i]->len,
                              strtoll(rep->element[2 * i + 1]->str, NULL, 10)};
        for (size_t i = 0; i < proc->batch_touches.cnt && !rc; i++) {
                const fd_strmap_entry *e = &proc->batch_touches.entries[i];
                if (e->klen < pl || memcmp(e->key, pre, pl) != 0)
                        continue;
                if (n == cap) {
                        cand *g = realloc(c, (cap *= 2) * sizeof(*c));
                        if (!g) {
                                rc = -1;
                                break;
                        }
                        c = g;
                }
                c[n++] = (cand){e->key + pl, e->klen - pl, e->i64};
                batch++;
        }
        if (!rc) {
                qsort(c, n, sizeof(*c), cmp_cand);
                /* A member the batch added again (a replay after its
                 * dedupe marker expired) is in the zset once. */
                size_t u = 0;
                for (size_t i = 0; i < n; i++)
                        if (!u || cmp_cand(&c[u - 1], &c[i]) != 0)
                                c[u++] = c[i];
                n = u;
                size_t from = batch && n > (size_t)proc->conf->touch_max
                                      ? n - (size_t)proc->conf->touch_max
                                      : 0;
                char *m = NULL;
                for (size_t i = from; i < n && !rc; i++) {
                        if (c[i].at < lo || c[i].at > hi)
                                continue;
                        free(m);
                        m = strndup(c[i].m, c[i].len);
                        rc = !m || add_parsed(&proc->close_touches, m, c[i].at);
                }
                free(m);
        }
        free(c);
        free(pre);
        return rc ? -1 : 0;
}

/* Queues ZRANGE of one whole touch key with scores. */
static int queue_key(fd_resp *r, const char *p, const char *t, int anon,
                     const char *id)
{
        return fd_resp_cmd(r, 5) || fd_resp_str(r, "ZRANGE") ||
               fd_key_touches(r, p, t, anon, id) || fd_resp_str(r, "0") ||
               fd_resp_str(r, "-1") || fd_resp_str(r, "WITHSCORES");
}

/* The anonymous ids stitched to lead_id by the batch and not in the stored
 * set anons (a SMEMBERS reply), appended to *ids (borrowed from the map). */
static int batch_anons(fd_processor *proc, const char *tenant,
                       const char *lead_id, const redisReply *anons,
                       const char ***ids, size_t *cnt)
{
        size_t tl = strlen(tenant), ll = strlen(lead_id), pl = tl + ll + 2;
        for (size_t i = 0; i < proc->batch_anons.cnt; i++) {
                const fd_strmap_entry *e = &proc->batch_anons.entries[i];
                if (e->klen <= pl || memcmp(e->key, tenant, tl + 1) != 0 ||
                    memcmp(e->key + tl + 1, lead_id, ll + 1) != 0)
                        continue;
                const char *a = e->key + pl;
                int stored = 0;
                for (size_t j = 0; j < anons->elements && !stored; j++)
                        stored = strcmp(anons->element[j]->str, a) == 0;
                if (stored)
                        continue;
                const char **g = realloc(*ids, (*cnt + 1) * sizeof(**ids));
                if (!g)
                        return -1;
                *ids = g;
                (*ids)[(*cnt)++] = a;
        }
        return 0;
}

int fd_apply_read_touches(fd_processor *proc, const fd_msg *msg)
{
        const fd_crm_event *ce = &msg->ev.u.crm;
        const fd_tenant_conf *tconf =
                fd_config_tenant(proc->conf, ce->tenant_id);
        int64_t hi = ce->occurred_at, lo = hi - tconf->lookback_ms;
        const char *t = ce->tenant_id, *p = proc->prefix;
        redisReply *rep[2] = {NULL, NULL}, **more = NULL;
        const char **ids = NULL;
        size_t cnt = 0;
        fd_resp r = {0};
        int rc;

        fd_apply_touches_free(&proc->close_touches);
        /* The touches stored by the held batch must be in Redis first. */
        if (fd_processor_settle(proc) != FD_STORE_OK)
                return FD_STORE_ERR;
        rc = fd_resp_cmd(&r, 2) || fd_resp_str(&r, "SMEMBERS") ||
             fd_key_anons(&r, p, t, ce->lead_id) ||
             queue_key(&r, p, t, 0, ce->lead_id);
        rc = rc || fd_store_pipeline(proc->store, &r, rep) != FD_STORE_OK;
        rc = rc || rep[0]->type != REDIS_REPLY_ARRAY ||
             add_key(proc, rep[1], t, 0, ce->lead_id, lo, hi);
        for (size_t i = 0; !rc && i < rep[0]->elements; i++) {
                const char **g = realloc(ids, (cnt + 1) * sizeof(*ids));
                rc = !g;
                if (g) {
                        ids = g;
                        ids[cnt++] = rep[0]->element[i]->str;
                }
        }
        rc = rc || batch_anons(proc, t, ce->lead_id, rep[0], &ids, &cnt);
        if (!rc && cnt) {
                fd_resp_reset(&r);
                for (size_t i = 0; i < cnt && !rc; i++)
                        rc = queue_key(&r, p, t, 1, ids[i]);
                more = rc ? NULL : calloc(cnt, sizeof(*more));
                rc = rc || !more ||
                     fd_store_pipeline(proc->store, &r, more) != FD_STORE_OK;
                for (size_t i = 0; i < cnt && !rc; i++)
                        rc = add_key(proc, more[i], t, 1, ids[i], lo, hi);
                for (size_t i = 0; more && i < cnt; i++)
                        if (more[i])
                                freeReplyObject(more[i]);
                free(more);
        }
        free(ids);
        for (int i = 0; i < 2; i++)
                if (rep[i])
                        freeReplyObject(rep[i]);
        fd_resp_free(&r);
        if (!rc && proc->close_touches.cnt > 1)
                qsort(proc->close_touches.touches, proc->close_touches.cnt,
                      sizeof(fd_touch), cmp_touch);
        return rc ? FD_STORE_ERR : FD_STORE_OK;
}

/* One revenue key: all-time (month NULL) or of a month. */
typedef struct rev_key {
        const char *p, *t, *model, *cur, *month;
} rev_key;

static int count_rev(fd_processor *proc, const rev_key *k, const char *field,
                     int64_t delta)
{
        return fd_apply_count(proc, field, delta, "%s:{%s}:revenue:%s:%s%s%s",
                              k->p, k->t, k->model, k->cur, k->month ? ":" : "",
                              k->month ? k->month : "");
}

/* Counts credits of one model in the all-time and monthly revenue keys. */
static int count_model(fd_processor *proc, const fd_lead *lead, const char *m,
                       const char *cur, const char *month, const int64_t *cr,
                       int64_t amount, size_t in_window)
{
        const fd_touch_list *tl = &proc->close_touches;
        char field[600];
        int rc = 0;
        for (int k = 0; k < 2; k++) {
                rev_key key = {proc->prefix, lead->tenant_id, m, cur,
                               k ? month : NULL};
                rc |= count_rev(proc, &key, "total", amount);
                rc |= count_rev(proc, &key, "deals", 1);
                if (!in_window)
                        rc |= count_rev(proc, &key, "unattributed", amount);
                for (size_t i = 0; i < tl->cnt; i++) {
                        if (!cr[i])
                                continue;
                        fd_fmt(field, sizeof(field), "channel:%s",
                               tl->touches[i].channel);
                        rc |= count_rev(proc, &key, field, cr[i]);
                        if (!tl->touches[i].campaign)
                                continue;
                        fd_fmt(field, sizeof(field), "campaign:%s",
                               tl->touches[i].campaign);
                        rc |= count_rev(proc, &key, field, cr[i]);
                }
        }
        return rc;
}

/* Encodes the AttributionEvent and queues it in the outbox. */
static int emit(fd_processor *proc, const fd_lead *lead, const fd_crm_event *ce,
                int64_t closed_at, int32_t cycle, int32_t partition,
                const fd_credit *credits, size_t credit_cnt, size_t in_window)
{
        char event_id[512], errstr[256];
        const char *opp = ce->opportunity_id     ? ce->opportunity_id
                          : lead->opportunity_id ? lead->opportunity_id
                                                 : "";
        fd_attribution_out a = {
                .event_id = event_id,
                .tenant_id = lead->tenant_id,
                .lead_id = lead->lead_id,
                .opportunity_id = opp,
                .amount_minor = ce->has_amount ? ce->amount_minor : 0,
                .currency = fd_close_currency(ce),
                .closed_at = closed_at,
                .touch_count = (int32_t)in_window,
                .credits = credits,
                .credit_cnt = credit_cnt,
        };
        fd_fmt(event_id, sizeof(event_id), "%s:%s:%d:closed_won",
               lead->tenant_id, lead->lead_id, (int)cycle);
        fd_buf_reset(&proc->enc);
        if (fd_codec_encode_attribution(
                    proc->codec, proc->conf->out_schema_id_attribution, &a,
                    &proc->enc, errstr, sizeof(errstr))) {
                FD_ERROR("process", "cannot encode an attribution: %s", errstr);
                return -1;
        }
        return fd_apply_outbox(proc, proc->conf->topic_attribution,
                               *opp ? opp : lead->lead_id, proc->enc.data,
                               proc->enc.len, NULL, 0, partition);
}

const char *fd_close_currency(const fd_crm_event *ce)
{
        return ce->currency ? ce->currency : "XXX";
}

static int is_marketing(const fd_tenant_conf *tc, const char *channel)
{
        for (size_t i = 0; i < tc->non_marketing_cnt; i++)
                if (strcmp(tc->non_marketing[i], channel) == 0)
                        return 0;
        return 1;
}

/* Adds delta to field of P:{T}:sourcing and P:{T}:sourcing:<month>. */
static int sourcing_add(fd_processor *proc, const fd_lead *lead,
                        const char *month, const char *field, int64_t delta)
{
        const char *p = proc->prefix, *t = lead->tenant_id;
        return fd_apply_count(proc, field, delta, "%s:{%s}:sourcing", p, t) |
               fd_apply_count(proc, field, delta, "%s:{%s}:sourcing:%s", p, t,
                              month);
}

/* Marketing-sourced (first touch of the journey in the window on a
 * marketing channel) and influenced (any such touch) counts and revenue of
 * a won deal, in P:{T}:sourcing and P:{T}:sourcing:<month>. */
static int count_sourcing(fd_processor *proc, const fd_lead *lead,
                          int64_t closed_at, int64_t amount, const char *cur,
                          const char *month)
{
        const fd_touch_list *tl = &proc->close_touches;
        int64_t lo = closed_at - lead->tconf->lookback_ms;
        int first = -1, influenced = 0, rc = 0;
        char rev[320], srev[330], irev[330];

        for (size_t i = 0; i < tl->cnt; i++) {
                const fd_touch *tt = &tl->touches[i];
                if (tt->at < lo || tt->at > closed_at)
                        continue;
                if (first < 0)
                        first = (int)i;
                influenced |= is_marketing(lead->tconf, tt->channel);
        }
        int sourced = first >= 0 &&
                      is_marketing(lead->tconf, tl->touches[first].channel);
        fd_fmt(rev, sizeof(rev), "revenue:%s", cur);
        fd_fmt(srev, sizeof(srev), "sourced_revenue:%s", cur);
        fd_fmt(irev, sizeof(irev), "influenced_revenue:%s", cur);
        rc |= sourcing_add(proc, lead, month, "customers", 1);
        if (amount)
                rc |= sourcing_add(proc, lead, month, rev, amount);
        if (sourced) {
                rc |= sourcing_add(proc, lead, month, "sourced", 1);
                if (amount)
                        rc |= sourcing_add(proc, lead, month, srev, amount);
        }
        if (influenced) {
                rc |= sourcing_add(proc, lead, month, "influenced", 1);
                if (amount)
                        rc |= sourcing_add(proc, lead, month, irev, amount);
        }
        return rc;
}

int fd_close_journey(fd_processor *proc, const fd_lead *lead, int64_t closed_at,
                     int converted)
{
        const fd_touch_list *tl = &proc->close_touches;
        int64_t lo = closed_at - lead->tconf->lookback_ms;
        const char **path = calloc(tl->cnt + 1, sizeof(*path));
        fd_markov_step *steps = calloc(tl->cnt + 2, sizeof(*steps));
        char field[600];
        size_t n = 0, k;
        fd_bucket b;
        int rc = 0;

        if (!path || !steps) {
                free(path);
                free(steps);
                return -1;
        }
        for (size_t i = 0; i < tl->cnt; i++) {
                const char *ch = tl->touches[i].channel;
                if (tl->touches[i].at < lo || tl->touches[i].at > closed_at ||
                    !fd_markov_channel_valid(ch, strlen(ch)))
                        continue; /* outside the window; "(start)" & co. */
                path[n++] = ch;
        }
        k = fd_markov_journey(path, n, converted, steps, n + 1);
        fd_apply_bucket(lead->tconf, closed_at, &b);
        for (size_t i = 0; i < k && !rc; i++) {
                fd_fmt(field, sizeof(field), "%s|%s", steps[i].from,
                       steps[i].to);
                rc |= fd_apply_count(proc, field, 1, "%s:{%s}:markov",
                                     proc->prefix, lead->tenant_id) |
                      fd_apply_count(proc, field, 1, "%s:{%s}:markov:%s",
                                     proc->prefix, lead->tenant_id, b.month);
        }
        free(path);
        free(steps);
        return rc ? -1 : 0;
}

int fd_close_won(fd_processor *proc, const fd_lead *lead,
                 const fd_crm_event *ce, int64_t closed_at, int32_t cycle,
                 int32_t partition)
{
        const fd_touch_list *tl = &proc->close_touches;
        const fd_config *conf = proc->conf;
        size_t model_cnt =
                conf->model_cnt ? conf->model_cnt : FD_MODEL_BUILTIN_COUNT;
        int64_t amount = ce->has_amount ? ce->amount_minor : 0;
        const char *cur = fd_close_currency(ce);
        int64_t *cr = calloc(tl->cnt + 1, sizeof(*cr));
        fd_credit *credits = calloc(tl->cnt * model_cnt + 1, sizeof(*credits));
        size_t credit_cnt = 0, in_window = 0;
        fd_bucket b;
        int rc = 0;

        if (!cr || !credits) {
                free(cr);
                free(credits);
                return -1;
        }
        for (size_t i = 0; i < tl->cnt; i++)
                tl->touches[i].flags =
                        lead->created_event && strcmp(tl->touches[i].event_id,
                                                      lead->created_event) == 0
                                ? FD_TOUCH_LEAD_CREATION
                                : 0;
        fd_apply_bucket(lead->tconf, closed_at, &b);
        rc = count_sourcing(proc, lead, closed_at, amount, cur, b.month) ||
             fd_close_journey(proc, lead, closed_at, 1);
        for (size_t k = 0; k < model_cnt && !rc; k++) {
                fd_model model =
                        conf->model_cnt ? conf->models[k] : (fd_model)k;
                fd_attr_input in = {
                        .touches = tl->touches,
                        .touch_cnt = tl->cnt,
                        .opp_created_at =
                                lead->lc.entered_at[FD_STAGE_OPPORTUNITY],
                        .closed_at = closed_at,
                        .lookback_ms = lead->tconf->lookback_ms,
                        .half_life_ms = lead->tconf->half_life_ms,
                        .amount_minor = amount,
                        /* custom model: the tenant's weights */
                        .custom = &lead->tconf->custom_weights,
                };
                in_window = fd_attribute(model, &in, cr);
                rc = count_model(proc, lead, fd_model_name(model), cur, b.month,
                                 cr, amount, in_window);
                for (size_t i = 0; i < tl->cnt; i++) {
                        if (!cr[i])
                                continue;
                        credits[credit_cnt++] = (fd_credit){
                                .model = fd_model_name(model),
                                .channel = tl->touches[i].channel,
                                .campaign = tl->touches[i].campaign,
                                .touch_event_id = tl->touches[i].event_id,
                                .touch_at = tl->touches[i].at,
                                .credit_minor = cr[i],
                        };
                }
        }
        if (!rc)
                rc = emit(proc, lead, ce, closed_at, cycle, partition, credits,
                          credit_cnt, in_window);
        proc->batch_stats.attributions++;
        free(cr);
        free(credits);
        return rc;
}
