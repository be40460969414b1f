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
 * ZRANGE ... WITHSCORES reply, as read before the batch and before a held
 * one) and the ones the held batch and this batch added before the close.
 * When they added any, the key is cut to its newest touch_max first, as a
 * commit between them would have trimmed it: where batches end does not
 * change the credits. (Members read after the held batch was written are
 * in the overlay too: equal ones are counted once, and the cut gives the
 * same newest touch_max.) */
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
        const fd_chains *over[2] = {&proc->held_touches, &proc->batch_touches};
        for (int o = 0; o < 2 && !rc; o++) {
                const fd_strmap_entry *head =
                        fd_strmap_get(&over[o]->by_key, pre, pl);
                for (int64_t i = head ? head->i64 : 0; i && !rc;
                     i = over[o]->items[i - 1].prev) {
                        const fd_chain_item *t = &over[o]->items[i - 1];
                        if (n == cap) {
                                cand *g = realloc(c, (cap *= 2) * sizeof(*c));
                                if (!g) {
                                        rc = -1;
                                        break;
                                }
                                c = g;
                        }
                        c[n++] = (cand){over[o]->values.data + t->off, t->len,
                                        t->at};
                        batch++;
                }
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
static int queue_key(fd_resp *r, fd_sv p, fd_sv t, int anon, fd_sv id)
{
        return fd_resp_cmd(r, 5) || fd_resp_str(r, "ZRANGE") ||
               fd_key_touches(r, p, t, anon, id) || fd_resp_str(r, "0") ||
               fd_resp_str(r, "-1") || fd_resp_str(r, "WITHSCORES");
}

/* What a close reads from Redis is read before the batch is applied, in
 * process.c's rounds one and two (before a held batch goes out: what they
 * see is Redis before it; the held batch's touches and stitches come from
 * memory, as the batch's own). proc->close_reads: "kind\0T\0id" -> ptr
 * the reply (in the store's reply arena until the batch resets), i64 its
 * index in the round while queued. Kinds:
 * 's' SMEMBERS of the lead's anonymous ids, 'l' the lead's touches,
 * 'a' an anonymous id's touches. */

static const char *reads_key(fd_buf *k, char kind, const char *t,
                             const char *id, size_t *len)
{
        char pre[2] = {kind, '\0'};
        if (fd_strmap_key(k, pre, t, id))
                return NULL;
        *len = k->len;
        return k->data;
}

/* Appends kind's read of id to r. */
static int read_cmd(fd_processor *proc, fd_resp *r, char kind, const char *t,
                    const char *id)
{
        fd_sv ts = fd_sv_of(t), ids = fd_sv_of(id);
        if (kind != 's')
                return queue_key(r, FD_PROC_PREFIX(proc), ts, kind == 'a', ids);
        return fd_resp_cmd(r, 2) || fd_resp_str(r, "SMEMBERS") ||
               fd_key_anons(r, FD_PROC_PREFIX(proc), ts, ids);
}

/* Queues kind's read of id in r unless it is read already. */
static int queue_read(fd_processor *proc, fd_resp *r, char kind, const char *t,
                      const char *id)
{
        fd_buf k = {0};
        size_t len;
        int created, rc = -1;
        const char *key = reads_key(&k, kind, t, id, &len);
        fd_strmap_entry *e =
                key ? fd_strmap_upsert(&proc->close_reads, key, len, &created)
                    : NULL;
        if (e && !created)
                rc = 0;
        else if (e) {
                e->ptr = NULL;
                e->i64 = (int64_t)r->cmd_cnt;
                rc = read_cmd(proc, r, kind, t, id);
        }
        fd_buf_free(&k);
        return rc ? -1 : 0;
}

static int is_close(const fd_msg *msg)
{
        fd_stage st;
        if (msg->ev.kind != FD_EV_CRM)
                return 0;
        st = fd_stage_parse(msg->ev.u.crm.stage);
        return st == FD_STAGE_CLOSED_WON || st == FD_STAGE_CLOSED_LOST;
}

int fd_close_queue_reads(fd_processor *proc, const fd_msg *msgs, size_t n,
                         fd_resp *r)
{
        for (size_t i = 0; i < n; i++) {
                const fd_crm_event *ce = &msgs[i].ev.u.crm;
                if (is_close(&msgs[i]) &&
                    (queue_read(proc, r, 's', ce->tenant_id, ce->lead_id) ||
                     queue_read(proc, r, 'l', ce->tenant_id, ce->lead_id)))
                        return -1;
        }
        return 0;
}

void fd_close_take_replies(fd_processor *proc, redisReply **replies)
{
        for (size_t i = 0; i < proc->close_reads.cnt; i++) {
                fd_strmap_entry *e = &proc->close_reads.entries[i];
                if (e->i64 < 0)
                        continue;
                e->ptr = replies[e->i64];
                replies[e->i64] = NULL;
                e->i64 = -1;
        }
}

/* Appends id to ids[0..*cnt) unless there. 0 or -1 (out of memory). */
static int add_id(const char ***ids, size_t *cnt, const char *id)
{
        for (size_t j = 0; j < *cnt; j++)
                if (strcmp((*ids)[j], id) == 0)
                        return 0;
        const char **g = realloc(*ids, (*cnt + 1) * sizeof(**ids));
        if (!g)
                return -1;
        *ids = g;
        (*ids)[(*cnt)++] = id;
        return 0;
}

/* Appends the values chained at key (klen bytes) in ch to *ids in the
 * order they were added, each unless there (borrowed). */
static int chain_ids(const fd_chains *ch, const char *key, size_t klen,
                     const char ***ids, size_t *cnt)
{
        const fd_strmap_entry *head = fd_strmap_get(&ch->by_key, key, klen);
        uint32_t *order = NULL;
        size_t cap = 0;
        long n = fd_chains_order(ch, head ? head->i64 : 0, &order, &cap);
        int rc = n < 0;
        for (long i = 0; i < n && !rc; i++)
                rc = add_id(ids, cnt,
                            ch->values.data + ch->items[order[i]].off);
        free(order);
        return rc ? -1 : 0;
}

/* The anonymous ids whose touches a close of tenant t's lead_id reads:
 * the stored ones (anons, a SMEMBERS reply) and those the held batch and
 * this batch stitched (borrowed). */
static int close_anons(fd_processor *proc, const char *t, const char *lead_id,
                       const redisReply *anons, const char ***ids, size_t *cnt)
{
        fd_buf k = {0};
        int rc = 0;
        if (anons->type != REDIS_REPLY_ARRAY)
                return -1;
        for (size_t i = 0; i < anons->elements && !rc; i++)
                rc = add_id(ids, cnt, anons->element[i]->str);
        rc = rc || fd_strmap_key(&k, t, lead_id, "") ||
             chain_ids(&proc->held_anons, k.data, k.len, ids, cnt) ||
             chain_ids(&proc->batch_anons, k.data, k.len, ids, cnt);
        fd_buf_free(&k);
        return rc ? -1 : 0;
}

int fd_close_queue_anons(fd_processor *proc, const fd_msg *msgs, size_t n,
                         fd_resp *r)
{
        fd_chains stitched; /* the batch's stitches to closing leads */
        fd_buf k = {0};
        size_t len;
        int rc = 0, closes = 0;
        for (size_t i = 0; i < proc->close_reads.cnt && !closes; i++)
                closes = proc->close_reads.entries[i].key[0] == 's' &&
                         proc->close_reads.entries[i].ptr;
        fd_chains_init(&stitched);
        for (size_t j = 0; j < n && closes && !rc; j++) {
                const fd_lead_event *le = &msgs[j].ev.u.lead;
                if (msgs[j].ev.kind != FD_EV_LEAD || !le->lead_id ||
                    !le->anonymous_id)
                        continue;
                const char *key =
                        reads_key(&k, 's', le->tenant_id, le->lead_id, &len);
                const fd_strmap_entry *e =
                        key ? fd_strmap_get(&proc->close_reads, key, len)
                            : NULL;
                rc = !key;
                if (e && e->ptr)
                        rc = fd_chains_add(&stitched, key, len,
                                           le->anonymous_id,
                                           strlen(le->anonymous_id), 0);
        }
        for (size_t i = 0; i < proc->close_reads.cnt && !rc; i++) {
                const fd_strmap_entry *e = &proc->close_reads.entries[i];
                if (e->key[0] != 's' || !e->ptr)
                        continue;
                const char *t = e->key + 2, *lead_id = t + strlen(t) + 1;
                const char **ids = NULL;
                size_t cnt = 0;
                rc = close_anons(proc, t, lead_id, e->ptr, &ids, &cnt) ||
                     /* and the ones this batch stitches to the lead */
                     chain_ids(&stitched, e->key, e->klen, &ids, &cnt);
                for (size_t j = 0; j < cnt && !rc; j++)
                        rc = queue_read(proc, r, 'a', t, ids[j]);
                free(ids);
        }
        fd_chains_free(&stitched);
        fd_buf_free(&k);
        return rc ? -1 : 0;
}

void fd_close_reads_clear(fd_processor *proc)
{
        /* the replies go with the store's reply arena (batch_reset) */
        fd_strmap_clear(&proc->close_reads);
}

/* Reads r's one command now, its reply in the store's reply arena as the
 * rounds' replies are. */
static int read_now(fd_processor *proc, const fd_resp *r, redisReply **rep)
{
        fd_store_replies_begin(proc->store);
        int rc = fd_store_pipeline(proc->store, r, rep);
        fd_store_replies_end(proc->store);
        return rc;
}

/* The stored reply of kind/id read before the batch, or, when it was not
 * (a close the rounds did not foresee), read now, after the held batch is
 * written (its members are then in the reply and in the overlay: add_key
 * counts them once). NULL on failure. */
static const redisReply *stored(fd_processor *proc, char kind, const char *t,
                                const char *id)
{
        fd_buf k = {0};
        fd_resp r = {0};
        size_t len;
        int created;
        const char *key = reads_key(&k, kind, t, id, &len);
        fd_strmap_entry *e =
                key ? fd_strmap_upsert(&proc->close_reads, key, len, &created)
                    : NULL;
        redisReply *rep = NULL;
        if (e && !created && e->ptr)
                rep = e->ptr;
        else if (e && fd_processor_settle(proc) == FD_STORE_OK &&
                 read_cmd(proc, &r, kind, t, id) == 0 &&
                 read_now(proc, &r, &rep) == FD_STORE_OK) {
                e->ptr = rep;
                e->i64 = -1;
        } else if (e && created) {
                e->ptr = NULL;
                e->i64 = -1;
        }
        fd_buf_free(&k);
        fd_resp_free(&r);
        return rep;
}

int fd_apply_read_touches(fd_processor *proc, const fd_msg *msg)
{
        const fd_crm_event *ce = &msg->ev.u.crm;
        const fd_tenant_conf *tconf =
                fd_config_tenant(proc->conf, ce->tenant_id);
        int64_t hi = ce->occurred_at, lo = hi - tconf->lookback_ms;
        const char *t = ce->tenant_id;
        const redisReply *anons, *rep;
        const char **ids = NULL;
        size_t cnt = 0;
        int rc;

        fd_apply_touches_free(&proc->close_touches);
        rep = stored(proc, 'l', t, ce->lead_id);
        anons = rep ? stored(proc, 's', t, ce->lead_id) : NULL;
        rc = !anons || add_key(proc, rep, t, 0, ce->lead_id, lo, hi) ||
             close_anons(proc, t, ce->lead_id, anons, &ids, &cnt);
        for (size_t i = 0; i < cnt && !rc; i++) {
                rep = stored(proc, 'a', t, ids[i]);
                rc = !rep || add_key(proc, rep, t, 1, ids[i], lo, hi);
        }
        free(ids);
        if (!rc && proc->close_touches.cnt > 1)
                qsort(proc->close_touches.touches, proc->close_touches.cnt,
                      sizeof(fd_touch), cmp_touch);
        return rc ? FD_STORE_ERR : FD_STORE_OK;
}

/* Counts credits of one model in the all-time and monthly revenue keys,
 * P:{T}:revenue:<model>:<currency>[:<month>]: each key formatted once for
 * all its fields. */
static int count_model(fd_processor *proc, const fd_lead *lead, const char *m,
                       const char *cur, const char *month, const int64_t *cr,
                       int64_t amount, size_t in_window)
{
        const fd_touch_list *tl = &proc->close_touches;
        int rc = 0;
        for (int k = 0; k < 2 && !rc; k++) {
                rc = fd_apply_count_key(proc, "%s:{%s}:revenue:%s:%s%s%s",
                                        proc->prefix, lead->tenant_id, m, cur,
                                        k ? ":" : "", k ? month : "");
                rc = rc || fd_apply_count_field(proc, "total", NULL, amount) ||
                     fd_apply_count_field(proc, "deals", NULL, 1);
                if (!in_window)
                        rc = rc || fd_apply_count_field(proc, "unattributed",
                                                        NULL, amount);
                for (size_t i = 0; i < tl->cnt && !rc; i++) {
                        const fd_touch *t = &tl->touches[i];
                        if (!cr[i])
                                continue;
                        rc = fd_apply_count_field(proc, "channel:", t->channel,
                                                  cr[i]) ||
                             (t->campaign &&
                              fd_apply_count_field(
                                      proc, "campaign:", t->campaign, cr[i]));
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
        for (int k = 0; k < 2 && !rc; k++) {
                rc = fd_apply_count_key(proc, "%s:{%s}:sourcing%s%s",
                                        proc->prefix, lead->tenant_id,
                                        k ? ":" : "", k ? month : "") ||
                     fd_apply_count_field(proc, "customers", NULL, 1) ||
                     (amount &&
                      fd_apply_count_field(proc, "revenue:", cur, amount)) ||
                     (sourced &&
                      (fd_apply_count_field(proc, "sourced", NULL, 1) ||
                       (amount && fd_apply_count_field(proc, "sourced_revenue:",
                                                       cur, amount)))) ||
                     (influenced &&
                      (fd_apply_count_field(proc, "influenced", NULL, 1) ||
                       (amount &&
                        fd_apply_count_field(proc, "influenced_revenue:", cur,
                                             amount))));
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
        /* P:{T}:markov and P:{T}:markov:<month>, "<from>|<to>" fields */
        for (int m = 0; m < 2 && !rc; m++) {
                rc = fd_apply_count_key(proc, "%s:{%s}:markov%s%s",
                                        proc->prefix, lead->tenant_id,
                                        m ? ":" : "", m ? b.month : "");
                for (size_t i = 0; i < k && !rc; i++) {
                        fd_fmt(field, sizeof(field), "%s|%s", steps[i].from,
                               steps[i].to);
                        rc = fd_apply_count_field(proc, field, NULL, 1);
                }
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
