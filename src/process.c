/* funneld — batch processing: read, apply, commit. */
#include "process.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "clock.h"
#include "close.h"
#include "cold.h"
#include "dedupe.h"
#include "fmt.h"
#include "keys.h"
#include "lead.h"
#include "log.h"

static int any_wall(const fd_config *conf);

void fd_msg_clear(fd_msg *msg)
{
        fd_event_clear(&msg->ev);
        if (msg->bad) {
                free(msg->bad->errmsg);
                free(msg->bad->raw);
                free(msg->bad->key);
                free(msg->bad);
        }
        memset(msg, 0, sizeof(*msg));
}

/* Returns a processor owned by the caller. */
fd_processor *fd_processor_new(const fd_config *conf, fd_codec *codec,
                               fd_store *store)
{
        fd_processor *proc = calloc(1, sizeof(*proc));
        if (!proc)
                return NULL;
        proc->conf = conf;
        proc->has_wall = any_wall(conf);
        proc->codec = codec;
        proc->store = store;
        proc->prefix = fd_store_prefix(store);
        proc->prefix_len = strlen(proc->prefix);
        fd_strmap_init(&proc->leads);
        for (int g = 0; g < 3; g++)
                fd_strmap_init(&proc->cache[g]);
        fd_strmap_init(&proc->seen);
        fd_strmap_init(&proc->counters);
        fd_strmap_init(&proc->sets);
        fd_strmap_init(&proc->hlls);
        fd_chains_init(&proc->batch_touches);
        fd_chains_init(&proc->batch_anons);
        fd_chains_init(&proc->outbox);
        fd_strmap_init(&proc->offsets);
        fd_strmap_init(&proc->next_offsets);
        fd_strmap_init(&proc->held_seen);
        fd_strmap_init(&proc->held_dues);
        fd_strmap_init(&proc->due_writes);
        fd_chains_init(&proc->held_touches);
        fd_chains_init(&proc->held_anons);
        fd_strmap_init(&proc->close_reads);
        return proc;
}

/* arr (cnt elements of elem bytes used, room for *cap) with room for one
 * more: itself, or grown (doubling from 64; *cap updated); NULL when out
 * of memory (arr is then untouched). */
static void *room_for_one(void *arr, size_t cnt, size_t *cap, size_t elem)
{
        if (cnt < *cap)
                return arr;
        size_t n = *cap ? *cap * 2 : 64;
        void *grown = realloc(arr, n * elem);
        if (grown)
                *cap = n;
        return grown;
}

/* Destroys the leads map holds and empties it. */
static void leads_clear(fd_strmap *map)
{
        for (size_t i = 0; i < map->cnt; i++)
                fd_lead_destroy(map->entries[i].ptr);
        fd_strmap_clear(map);
}

void fd_processor_forget_leads(fd_processor *proc)
{
        if (!proc)
                return;
        for (int g = 0; g < 3; g++)
                leads_clear(&proc->cache[g]);
        proc->retire_pos = 0;
        proc->cache_moves++;
}

/* The lead cache's generations (cache_cur: the current one). */
#define CACHE_PREV(proc) (&(proc)->cache[((proc)->cache_cur + 2) % 3])
#define CACHE_OLD(proc)  (&(proc)->cache[((proc)->cache_cur + 1) % 3])

/* The cached state of key (whose fd_hash64 is hash), taken out of the
 * cache, or NULL. */
static fd_lead *cache_take(fd_processor *proc, const char *key, size_t len,
                           uint64_t hash)
{
        fd_strmap *gens[2] = {&proc->cache[proc->cache_cur], CACHE_PREV(proc)};
        for (int g = 0; g < 2; g++) {
                fd_strmap_entry *e =
                        fd_strmap_get_hashed(gens[g], key, len, hash);
                if (e && e->ptr) {
                        fd_lead *lead = e->ptr;
                        e->ptr = NULL;
                        /* cache_keep puts it back there without a lookup */
                        lead->cache_at =
                                g ? 0 : (size_t)(e - gens[0]->entries) + 1;
                        lead->cache_move = proc->cache_moves;
                        return lead;
                }
        }
        return NULL;
}

/* Frees up to n leads of the generation being dropped; empties its map
 * once they are all gone. */
static void retire_some(fd_processor *proc, size_t n)
{
        fd_strmap *old = CACHE_OLD(proc);
        for (; n && proc->retire_pos < old->cnt; n--, proc->retire_pos++) {
                fd_strmap_entry *e = &old->entries[proc->retire_pos];
                fd_lead_destroy(e->ptr);
                e->ptr = NULL;
        }
        if (old->cnt && proc->retire_pos == old->cnt) {
                fd_strmap_clear(old);
                proc->retire_pos = 0;
        }
}

/* Keeps the committed states of the batch's leads for the next batches.
 * When the current generation is full, the one before it is dropped: what
 * was not used for a whole generation leaves memory. It is freed two leads
 * for each lead kept, not at once (100k leads took tens of ms, a stall of
 * the stream), so the three generations never hold more than
 * processing.lead_cache. 1 when every lead of the batch is in the cache
 * afterwards. */
static int cache_keep(fd_processor *proc)
{
        size_t half = (size_t)proc->conf->lead_cache / 2;
        for (size_t i = 0; half && i < proc->leads.cnt; i++) {
                fd_strmap_entry *b = &proc->leads.entries[i];
                fd_strmap *cur = &proc->cache[proc->cache_cur];
                fd_lead *lead = b->ptr;
                int created;
                if (!lead)
                        continue; /* kept already */
                retire_some(proc, 2);
                if (cur->cnt >= half) {
                        /* A generation of half inserts freed the old one
                         * already; with lead_cache changed by a reload,
                         * what is left goes now. */
                        retire_some(proc, SIZE_MAX);
                        proc->cache_cur = (proc->cache_cur + 1) % 3;
                        proc->cache_moves++;
                        cur = &proc->cache[proc->cache_cur];
                }
                /* Taken from this generation: back into its entry. */
                fd_strmap_entry *e =
                        lead->cache_at && lead->cache_move == proc->cache_moves
                                ? &cur->entries[lead->cache_at - 1]
                                : fd_strmap_upsert_hashed(cur, b->key, b->klen,
                                                          b->hash, &created);
                if (!e)
                        return 0; /* out of memory: not cached, still fine */
                fd_lead_destroy(e->ptr);
                lead->cache_at = 0;
                lead->dirty = 0;
                e->ptr = lead;
                b->ptr = NULL;
        }
        /* More than half: a second flip dropped some of the batch's own. */
        return proc->leads.cnt <= half;
}

static void batch_reset(fd_processor *proc)
{
        leads_clear(&proc->leads);
        fd_strmap_clear(&proc->leads);
        fd_strmap_clear(&proc->seen);
        proc->seen_sorted = 0;
        fd_strmap_clear(&proc->counters);
        fd_strmap_clear(&proc->sets);
        fd_strmap_clear(&proc->hlls);
        fd_chains_clear(&proc->batch_touches);
        fd_chains_clear(&proc->batch_anons);
        fd_chains_clear(&proc->outbox);
        fd_strmap_clear(&proc->offsets);
        memset(proc->offset_at, 0, sizeof(proc->offset_at));
        fd_strmap_clear(&proc->due_writes);
        fd_close_reads_clear(proc);
        fd_store_replies_release(proc->store);
        memset(proc->in_events, 0, sizeof(proc->in_events));
        fd_buf_reset(&proc->tenant_noted);
        fd_resp_reset(&proc->reads);
        fd_resp_reset(&proc->writes);
        fd_apply_touches_free(&proc->close_touches);
        for (size_t i = 0; i < proc->due_cnt; i++)
                free(proc->dues[i].member);
        proc->due_cnt = 0;
        proc->fresh_cnt = 0;
        for (size_t i = 0; i < proc->part_cnt; i++) {
                proc->parts[i].due_lo = proc->parts[i].due_hi = 0;
                proc->parts[i].fresh_min = INT64_MAX;
                proc->parts[i].scan_to = INT64_MIN;
                proc->parts[i].scan_reply = proc->parts[i].wall_reply = -1;
        }
        memset(&proc->batch_stats, 0, sizeof(proc->batch_stats));
}

void fd_processor_destroy(fd_processor *proc)
{
        if (!proc)
                return;
        batch_reset(proc);
        fd_processor_forget_leads(proc);
        for (int g = 0; g < 3; g++)
                fd_strmap_free(&proc->cache[g]);
        free(proc->counted);
        fd_strmap_free(&proc->leads);
        fd_strmap_free(&proc->seen);
        free(proc->seen_by);
        free(proc->lead_hash);
        fd_strmap_free(&proc->counters);
        fd_strmap_free(&proc->sets);
        fd_strmap_free(&proc->hlls);
        fd_chains_free(&proc->batch_touches);
        fd_chains_free(&proc->batch_anons);
        fd_chains_free(&proc->outbox);
        fd_strmap_free(&proc->offsets);
        fd_strmap_free(&proc->next_offsets);
        fd_strmap_free(&proc->held_seen);
        fd_strmap_free(&proc->held_dues);
        fd_strmap_free(&proc->due_writes);
        fd_chains_free(&proc->held_touches);
        fd_chains_free(&proc->held_anons);
        fd_strmap_free(&proc->close_reads);
        fd_resp_free(&proc->reads);
        fd_resp_free(&proc->writes);
        fd_resp_free(&proc->held_writes);
        fd_buf_free(&proc->scratch);
        fd_buf_free(&proc->tenant_noted);
        fd_buf_free(&proc->member);
        fd_buf_free(&proc->enc);
        free(proc->dues);
        free(proc->fresh);
        free(proc->parts);
        free(proc);
}

void fd_processor_set_config(fd_processor *proc, const fd_config *conf)
{
        fd_processor_forget_leads(proc); /* they point at the old rules */
        proc->conf = conf;
        proc->has_wall = any_wall(conf);
}

const fd_process_stats *fd_processor_stats(const fd_processor *proc)
{
        return &proc->stats;
}

/* Builds "a\0b" into proc->scratch and returns it (valid until next use). */
static const char *pair_key(fd_processor *proc, fd_sv a, fd_sv b, size_t *len)
{
        fd_strmap_keyn(&proc->scratch, a, b);
        *len = proc->scratch.len;
        return proc->scratch.data;
}

/* The batch's entry of tenant/lead_id in proc->leads: from the cache, or
 * new with its HGETALL queued in proc->reads (i64 = the reply's index; -1
 * when nothing is to be read). hash: its key's fd_hash64, or NULL. NULL
 * when out of memory. */
static fd_lead *want_lead(fd_processor *proc, fd_sv tenant_sv, fd_sv lead_sv,
                          const uint64_t *hash)
{
        const char *tenant = tenant_sv.s, *lead_id = lead_sv.s;
        fd_resp *r = &proc->reads;
        size_t len;
        int created;
        const char *k = pair_key(proc, tenant_sv, lead_sv, &len);
        fd_strmap_entry *e = fd_strmap_upsert_hashed(
                &proc->leads, k, len, hash ? *hash : fd_hash64(k, len),
                &created);

        if (!e)
                return NULL;
        if (!created)
                return e->ptr;
        e->ptr = cache_take(proc, k, len, e->hash);
        e->i64 = -1;
        if (e->ptr)
                return e->ptr;
        e->ptr = fd_lead_new(tenant, lead_id,
                             fd_config_tenant(proc->conf, tenant));
        if (!e->ptr)
                return NULL;
        e->i64 = (int64_t)r->cmd_cnt;
        if (fd_resp_cmd(r, 2) || fd_resp_str(r, "HGETALL") ||
            fd_key_lead(r, FD_PROC_PREFIX(proc), tenant_sv, lead_sv))
                return NULL;
        return e->ptr;
}

/* The batch's state of input partition p, grown on demand; NULL when out
 * of memory. */
static fd_part_clock *part_of(fd_processor *proc, int32_t p)
{
        if (p < 0)
                return NULL;
        if ((size_t)p >= proc->part_cnt) {
                size_t cnt = (size_t)p + 1;
                fd_part_clock *grown =
                        realloc(proc->parts, cnt * sizeof(*grown));
                if (!grown)
                        return NULL;
                for (size_t i = proc->part_cnt; i < cnt; i++)
                        grown[i] = (fd_part_clock){.clock = INT64_MIN,
                                                   .clock0 = INT64_MIN,
                                                   .scan_to = INT64_MIN,
                                                   .scan_reply = -1,
                                                   .wall_reply = -1,
                                                   .fresh_min = INT64_MAX,
                                                   .scan_before = INT64_MIN,
                                                   .clock_held = INT64_MIN,
                                                   .clock_inflight = INT64_MIN};
                proc->parts = grown;
                proc->part_cnt = cnt;
        }
        return &proc->parts[p];
}

/* 1 when msg moves its partition's event clock: a decoded lead or CRM
 * event. */
static int clocked(const fd_msg *msg)
{
        return msg->ev.kind == FD_EV_LEAD || msg->ev.kind == FD_EV_CRM;
}

/* 1 when a tenant's cold deadlines follow the wall clock. */
static int any_wall(const fd_config *conf)
{
        if (fd_cold_wall(&conf->defaults))
                return 1;
        for (size_t i = 0; i < conf->tenant_cnt; i++)
                if (fd_cold_wall(&conf->tenants[i]))
                        return 1;
        return 0;
}

/* Most deadline-set entries one batch reads per set: the rest follow in
 * the next batches (a lead's own event raises its alert anyway). */
#define FD_DUE_READ_MAX 1000

/* Queues ZRANGEBYSCORE of a deadline set: the entries before `before`. */
static int queue_scan(fd_processor *proc, int wall, int32_t p, int64_t before,
                      int64_t *reply)
{
        fd_resp *r = &proc->reads;
        *reply = (int64_t)r->cmd_cnt;
        return fd_resp_cmd(r, 8) || fd_resp_str(r, "ZRANGEBYSCORE") ||
               fd_key_due(r, proc->prefix, fd_store_group(proc->store), wall,
                          (int)p) ||
               fd_resp_str(r, "-inf") ||
               fd_resp_fmt(r, "(%lld", (long long)before) ||
               fd_resp_str(r, "WITHSCORES") || fd_resp_str(r, "LIMIT") ||
               fd_resp_str(r, "0") || fd_resp_i64(r, FD_DUE_READ_MAX);
}

/* Queues the reads of the deadline sets: of each partition with events in
 * the batch, the entries before its event clock after the batch; with a
 * wall-clock tenant, of every owned partition the entries before now. */
static int queue_scans(fd_processor *proc, const fd_msg *msgs, size_t n,
                       const int32_t *parts, size_t cnt)
{
        for (size_t i = 0; i < n; i++) {
                fd_part_clock *pc;
                if (!clocked(&msgs[i]))
                        continue;
                if (!(pc = part_of(proc, msgs[i].partition)))
                        return -1;
                if (msgs[i].ts > pc->scan_to)
                        pc->scan_to = msgs[i].ts;
        }
        for (size_t p = 0; p < proc->part_cnt; p++) {
                fd_part_clock *pc = &proc->parts[p];
                int64_t to = pc->scan_to > pc->clock ? pc->scan_to : pc->clock;
                pc->scan_before = to;
                if (pc->scan_to != INT64_MIN &&
                    queue_scan(proc, 0, (int32_t)p, to, &pc->scan_reply))
                        return -1;
        }
        if (!proc->has_wall)
                return 0;
        for (size_t i = 0; i < cnt; i++) {
                fd_part_clock *pc = part_of(proc, parts[i]);
                if (!pc || queue_scan(proc, 1, parts[i], proc->wall_now,
                                      &pc->wall_reply))
                        return -1;
        }
        return 0;
}

/* Most event ids in one SMISMEMBER, MGET or SADD (the reply index of an
 * id leaves 16 bits for its place). */
#define FD_SEEN_PER_CMD 512

/* i64 of a proc->seen entry whose id the held batch writes: not read. */
#define FD_SEEN_HELD INT64_MIN

/* A group of up to FD_SEEN_PER_CMD entries of proc->seen of one tenant
 * (their keys are "tenant\0event_id"). */
typedef struct seen_group {
        const char *tenant;
        size_t tlen;
        fd_strmap_entry **by;
        size_t cnt;
        int last; /* the tenant's last group */
} seen_group;

typedef int (*seen_group_fn)(fd_processor *proc, const seen_group *g);

/* Calls fn for the groups of proc->seen's entries, sorted (a tenant's are
 * together; sorted once for the batch's reads and writes): to read, those
 * the held batch does not write; else those applied in this batch. */
static int each_seen_group(fd_processor *proc, int to_read, seen_group_fn fn)
{
        size_t cnt = proc->seen.cnt, n = 0;
        int rc = 0;

        if (!cnt)
                return 0;
        if (!proc->seen_sorted) {
                if (fd_strmap_sort_into(&proc->seen, cnt, &proc->seen_by,
                                        &proc->seen_by_cap) != 0)
                        return -1;
                proc->seen_sorted = 1;
        }
        fd_strmap_entry **sorted = proc->seen_by, **by = sorted + cnt;
        for (size_t i = 0; i < cnt; i++)
                if (to_read ? sorted[i]->i64 != FD_SEEN_HELD
                            : sorted[i]->i64 == 2)
                        by[n++] = sorted[i];
        for (size_t i = 0, j; i < n && !rc; i = j) {
                seen_group g = {by[i]->key, strlen(by[i]->key), by + i, 0, 0};
                for (j = i + 1; j < n && j - i < FD_SEEN_PER_CMD &&
                                strcmp(by[j]->key, g.tenant) == 0;
                     j++)
                        ;
                g.cnt = j - i;
                g.last = j == n || strcmp(by[j]->key, g.tenant) != 0;
                rc = fn(proc, &g);
        }
        return rc ? -1 : 0;
}

/* The event ids of a group as arguments, after the command name and key. */
static int seen_ids(fd_resp *r, const seen_group *g)
{
        int rc = 0;
        for (size_t k = 0; k < g->cnt && !rc; k++)
                rc = fd_resp_arg(r, g->by[k]->key + g->tlen + 1,
                                 g->by[k]->klen - g->tlen - 1);
        return rc;
}

/* Queues one SMISMEMBER of the group's ids per dedupe generation the batch
 * reads (and an MGET of the layout-1 markers while they may exist); each
 * entry gets i64 = index of the group's first reply << 16 | its index in
 * the group. */
static int queue_seen_group(fd_processor *proc, const seen_group *g)
{
        const fd_dedupe_plan *plan = &proc->dedupe;
        fd_resp *r = &proc->reads;
        int64_t reply = (int64_t)r->cmd_cnt;
        int rc = 0;

        for (int64_t gen = plan->read_lo; gen <= plan->read_hi && !rc; gen++)
                rc = fd_resp_cmd(r, 2 + (int)g->cnt) ||
                     fd_resp_str(r, "SMISMEMBER") ||
                     fd_key_dedupe(r, proc->prefix, g->tenant, gen) ||
                     seen_ids(r, g);
        if (plan->v1) {
                rc |= fd_resp_cmd(r, 1 + (int)g->cnt) || fd_resp_str(r, "MGET");
                for (size_t k = 0; k < g->cnt && !rc; k++)
                        rc = fd_key_seen(r, FD_PROC_PREFIX(proc),
                                         (fd_sv){g->tenant, g->tlen},
                                         (fd_sv){g->by[k]->key + g->tlen + 1,
                                                 g->by[k]->klen - g->tlen - 1});
        }
        for (size_t k = 0; k < g->cnt; k++)
                g->by[k]->i64 = reply << 16 | (int64_t)k;
        return rc;
}

/* Whether the replies of an entry's group say its event id was applied
 * before: 1, 0, or -1 when they are not what was asked for. */
static int seen_before(const fd_processor *proc, redisReply **replies,
                       int64_t at)
{
        int reads = fd_dedupe_reads(&proc->dedupe);
        size_t el = (size_t)(at & 0xffff);
        int seen = 0;
        for (int k = 0; k < reads; k++) {
                redisReply *rep = replies[(at >> 16) + k];
                if (rep->type != REDIS_REPLY_ARRAY || el >= rep->elements)
                        return -1;
                redisReply *e = rep->element[el];
                if (proc->dedupe.v1 && k == reads - 1)
                        seen |= e->type == REDIS_REPLY_STRING; /* MGET */
                else
                        seen |= e->type == REDIS_REPLY_INTEGER &&
                                e->integer == 1;
        }
        return seen;
}

/* Queues the group's new event ids: SADD to the generation written and,
 * after the tenant's last group, its expiry and UNLINK of the generation
 * no batch reads any more (a big set freed by expiry would block Redis;
 * UNLINK frees it in the background). */
static int write_seen_group(fd_processor *proc, const seen_group *g)
{
        const fd_dedupe_plan *plan = &proc->dedupe;
        fd_resp *w = &proc->writes;
        const char *t = g->tenant;

        if (fd_resp_cmd(w, 2 + (int)g->cnt) || fd_resp_str(w, "SADD") ||
            fd_key_dedupe(w, proc->prefix, t, plan->write_gen) ||
            seen_ids(w, g))
                return -1;
        if (!g->last)
                return 0;
        int rc = fd_resp_cmd(w, 3) || fd_resp_str(w, "PEXPIREAT") ||
                 fd_key_dedupe(w, proc->prefix, t, plan->write_gen) ||
                 fd_resp_i64(w, plan->expire_at_ms) || fd_resp_cmd(w, 2) ||
                 fd_resp_str(w, "UNLINK") ||
                 fd_key_dedupe(w, proc->prefix, t, plan->unlink_gen);
        return rc ? -1 : 0;
}

/* Hashes the lead keys of msgs (proc->lead_hash[i]) and starts loading
 * their slots, then the entries in them, in the lead cache's generations
 * want_lead looks in: the cache outgrows the CPU's caches, and lookups one
 * at a time each waited for memory. */
static int prefetch_leads(fd_processor *proc, const fd_msg *msgs, size_t n)
{
        const fd_strmap *gens[2] = {&proc->cache[proc->cache_cur],
                                    CACHE_PREV(proc)};
        size_t len;

        if (n > proc->lead_hash_cap) {
                uint64_t *grown = realloc(proc->lead_hash, n * sizeof(*grown));
                if (!grown)
                        return -1;
                proc->lead_hash = grown;
                proc->lead_hash_cap = n;
        }
        for (size_t i = 0; i < n; i++) {
                fd_ev_ids id = {{NULL, 0}, {NULL, 0}, {NULL, 0}};
                if (msgs[i].ev.kind != FD_EV_NONE)
                        id = fd_apply_event_ids(&msgs[i].ev);
                if (!id.lead_id.s) {
                        proc->lead_hash[i] = 0; /* not looked up */
                        continue;
                }
                const char *k = pair_key(proc, id.tenant, id.lead_id, &len);
                proc->lead_hash[i] = fd_hash64(k, len);
                for (int g = 0; g < 2; g++)
                        fd_strmap_prefetch_slot(gens[g], proc->lead_hash[i]);
        }
        /* The slots have arrived by now: the entries they hold. */
        for (size_t i = 0; i < n; i++)
                for (int g = 0; g < 2 && proc->lead_hash[i]; g++)
                        fd_strmap_prefetch_entry(gens[g], proc->lead_hash[i]);
        return 0;
}

/* Queues the reads of round one: dedupe sets (queue_seen_group), lead states
 * (entries of proc->leads get i64 = index of their reply) and deadline
 * sets. */
static int queue_reads(fd_processor *proc, fd_msg *msgs, size_t n,
                       const int32_t *parts, size_t cnt)
{
        if (prefetch_leads(proc, msgs, n) != 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                const fd_event *ev = &msgs[i].ev;
                fd_strmap_entry *e;
                size_t len;
                int created;

                msgs[i].lead = NULL;
                msgs[i].seen_at = 0;
                if (ev->kind == FD_EV_NONE)
                        continue;
                fd_ev_ids id = fd_apply_event_ids(ev);
                const char *k = pair_key(proc, id.tenant, id.event_id, &len);
                e = fd_strmap_upsert(&proc->seen, k, len, &created);
                if (!e)
                        return -1;
                if (created)
                        proc->seen_sorted = 0;
                msgs[i].seen_at = (size_t)(e - proc->seen.entries) + 1;
                if (created && proc->held_seen.cnt &&
                    fd_strmap_get_hashed(&proc->held_seen, k, len, e->hash))
                        e->i64 = FD_SEEN_HELD;
                if (id.lead_id.s &&
                    !(msgs[i].lead = want_lead(proc, id.tenant, id.lead_id,
                                               &proc->lead_hash[i])))
                        return -1;
        }
        if (each_seen_group(proc, 1, queue_seen_group) != 0)
                return -1;
        return queue_scans(proc, msgs, n, parts, cnt);
}

/* The key of a deadline-set entry in proc->due_writes / held_dues:
 * "w\0p\0member" in proc->scratch; its length. */
static size_t due_write_key(fd_processor *proc, int wall, int32_t p,
                            const char *member, size_t len)
{
        char num[24];
        num[fd_fmt_i64(num, p)] = '\0';
        if (fd_strmap_key(&proc->scratch, wall ? "w" : "e", num, "") ||
            fd_buf_append(&proc->scratch, member, len))
                return 0;
        return proc->scratch.len;
}

int fd_apply_note_due(fd_processor *proc, int wall, int32_t partition,
                      const struct fd_lead *lead, int64_t at)
{
        char member[512];
        int created;
        int n = fd_fmt(member, sizeof(member), "%s:%s", lead->tenant_id,
                       lead->lead_id);
        if (n < 0 || (size_t)n >= sizeof(member))
                return -1;
        size_t len = due_write_key(proc, wall, partition, member, (size_t)n);
        fd_strmap_entry *e =
                len ? fd_strmap_upsert(&proc->due_writes, proc->scratch.data,
                                       len, &created)
                    : NULL;
        if (!e)
                return -1;
        e->i64 = at;
        return 0;
}

/* Records an entry of the deadline set (wall or not) of partition p:
 * its lead is loaded in the batch (round two reads the ones not in it). */
static int add_due(fd_processor *proc, int wall, int32_t p, const char *mstr,
                   size_t mlen, int64_t at)
{
        const char *colon;
        fd_due *d;

        colon = memchr(mstr, ':', mlen);
        if (!colon || colon == mstr || !colon[1] || strlen(mstr) != mlen)
                return 0; /* not written by funneld: left alone */
        fd_due *dues = room_for_one(proc->dues, proc->due_cnt, &proc->due_cap,
                                    sizeof(*dues));
        if (!dues)
                return -1;
        proc->dues = dues;
        d = &proc->dues[proc->due_cnt];
        *d = (fd_due){.partition = p, .wall = wall, .at = at};
        if (!(d->member = strndup(mstr, mlen)))
                return -1;
        size_t tl = (size_t)(colon - mstr);
        d->member[tl] = '\0';
        d->lead = want_lead(proc, (fd_sv){d->member, tl},
                            (fd_sv){d->member + tl + 1, mlen - tl - 1}, NULL);
        d->member[tl] = ':';
        if (!d->lead) {
                free(d->member);
                return -1;
        }
        proc->due_cnt++;
        return 0;
}

/* Wall-clock entries first, then by partition, deadline and member. */
static int cmp_due(const void *a, const void *b)
{
        const fd_due *x = a, *y = b;
        if (x->wall != y->wall)
                return y->wall - x->wall;
        if (x->partition != y->partition)
                return x->partition < y->partition ? -1 : 1;
        if (x->at != y->at)
                return x->at < y->at ? -1 : 1;
        return strcmp(x->member, y->member);
}

/* 1 when the held batch changed the entry of member (it is taken from
 * held_dues, not from what Redis returned before that batch). */
static int held_changed(fd_processor *proc, int wall, int32_t p,
                        const redisReply *member)
{
        size_t len;
        if (!proc->held_dues.cnt)
                return 0;
        len = due_write_key(proc, wall, p, member->str, member->len);
        return len && fd_strmap_get(&proc->held_dues, proc->scratch.data, len);
}

/* The deadline-set entries the held batch set that this batch's reads (of
 * Redis before the held batch) would have returned after it. */
static int take_held_dues(fd_processor *proc)
{
        for (size_t i = 0; i < proc->held_dues.cnt; i++) {
                const fd_strmap_entry *e = &proc->held_dues.entries[i];
                int wall = e->key[0] == 'w';
                int32_t p = (int32_t)strtol(e->key + 2, NULL, 10);
                size_t skip = 2 + strlen(e->key + 2) + 1;
                const fd_part_clock *pc;
                if (e->i64 == INT64_MIN || p < 0 || (size_t)p >= proc->part_cnt)
                        continue;
                pc = &proc->parts[p];
                if (wall ? pc->wall_reply < 0 || e->i64 >= proc->wall_now
                         : pc->scan_reply < 0 || e->i64 >= pc->scan_before)
                        continue;
                if (add_due(proc, wall, p, e->key + skip, e->klen - skip,
                            e->i64))
                        return -1;
        }
        return 0;
}

/* Takes the deadline-set entries out of round one's replies. Leads they
 * name that the batch does not hold are queued for round two in
 * proc->reads (which the caller reset). */
static int take_dues(fd_processor *proc, redisReply **replies)
{
        for (size_t p = 0; p < proc->part_cnt; p++) {
                const fd_part_clock *pc = &proc->parts[p];
                int64_t idx[2] = {pc->scan_reply, pc->wall_reply};
                for (int w = 0; w < 2; w++) {
                        const redisReply *rep;
                        if (idx[w] < 0)
                                continue;
                        rep = replies[idx[w]];
                        if (rep->type != REDIS_REPLY_ARRAY)
                                return -1;
                        for (size_t i = 0; i + 1 < rep->elements; i += 2) {
                                const redisReply *m = rep->element[i];
                                const redisReply *sc = rep->element[i + 1];
                                if (m->type != REDIS_REPLY_STRING ||
                                    sc->type != REDIS_REPLY_STRING)
                                        return -1;
                                if (held_changed(proc, w, (int32_t)p, m))
                                        continue;
                                if (add_due(proc, w, (int32_t)p, m->str, m->len,
                                            strtoll(sc->str, NULL, 10)))
                                        return -1;
                        }
                }
        }
        if (take_held_dues(proc))
                return -1;
        if (proc->due_cnt)
                qsort(proc->dues, proc->due_cnt, sizeof(*proc->dues), cmp_due);
        for (size_t i = 0; i < proc->due_cnt; i++) {
                fd_part_clock *pc = &proc->parts[proc->dues[i].partition];
                if (proc->dues[i].wall)
                        continue;
                if (pc->due_lo == pc->due_hi)
                        pc->due_lo = i;
                pc->due_hi = i + 1;
        }
        return 0;
}

/* Notes lead, just read in round one, for the reads of its zsets' sizes
 * in round two when its hash holds no bounds of them (history_bound). It
 * was not in the lead cache, so no batch held or in flight has touched
 * it: Redis has all of its members. */
static int count_later(fd_processor *proc, struct fd_lead *lead)
{
        if (!lead->exists || (lead->touches_max >= 0 && lead->scores_max >= 0))
                return 0;
        struct fd_lead **counted =
                room_for_one(proc->counted, proc->counted_cnt,
                             &proc->counted_cap, sizeof(*counted));
        if (!counted)
                return -1;
        proc->counted = counted;
        proc->counted[proc->counted_cnt++] = lead;
        return 0;
}

/* Queues the ZCARDs of the touch and score histories of the leads
 * count_later noted, two per lead, from reply count_reply on. */
static int queue_counts(fd_processor *proc)
{
        fd_resp *r = &proc->reads;
        int rc = 0;
        proc->count_reply = r->cmd_cnt;
        for (size_t i = 0; i < proc->counted_cnt && !rc; i++) {
                const struct fd_lead *l = proc->counted[i];
                rc = fd_resp_cmd(r, 2) || fd_resp_str(r, "ZCARD") ||
                     fd_key_touches(r, FD_PROC_PREFIX(proc), FD_LEAD_TENANT(l),
                                    0, FD_LEAD_ID(l)) ||
                     fd_resp_cmd(r, 2) || fd_resp_str(r, "ZCARD") ||
                     fd_key_scores(r, FD_PROC_PREFIX(proc), FD_LEAD_TENANT(l),
                                   FD_LEAD_ID(l));
        }
        return rc ? -1 : 0;
}

/* A ZCARD's answer as a bound: -1 (unknown) for anything but a count. */
static int32_t count_of(const redisReply *r)
{
        return r && r->type == REDIS_REPLY_INTEGER && r->integer >= 0 &&
                               r->integer <= INT32_MAX
                       ? (int32_t)r->integer
                       : -1;
}

/* Round two's answers to queue_counts: the noted leads' bounds. */
static void take_counts(fd_processor *proc, redisReply **replies)
{
        for (size_t i = 0; i < proc->counted_cnt; i++) {
                struct fd_lead *l = proc->counted[i];
                size_t at = proc->count_reply + 2 * i;
                l->touches_max = count_of(replies[at]);
                l->scores_max = count_of(replies[at + 1]);
        }
        proc->counted_cnt = 0;
}

/* Runs a round of reads; loads the replies into the maps: the leads whose
 * i64 is a reply index (set to -1 once loaded) and, in the first round,
 * dedupe markers and deadline-set entries (noting the leads whose history
 * sizes round two reads: count_later), in the second those sizes. */
static int read_round(fd_processor *proc, int first, const fd_owned *own)
{
        redisReply **replies;
        int rc = FD_STORE_ERR;
        size_t cnt = proc->reads.cmd_cnt;

        if (cnt == 0 && !own)
                return FD_STORE_OK;
        replies = calloc(cnt + 2, sizeof(*replies)); /* + the epoch check */
        if (!replies)
                return FD_STORE_ERR;
        /* The replies come from the store's arena: the close reads keep
         * theirs until the batch resets. */
        fd_store_replies_begin(proc->store);
        rc = own ? fd_store_watch_read(proc->store, own->parts, own->epochs,
                                       own->cnt, &proc->reads, replies)
                 : fd_store_pipeline(proc->store, &proc->reads, replies);
        fd_store_replies_end(proc->store);
        if (rc != FD_STORE_OK)
                goto out;
        for (size_t i = 0; first && i < proc->seen.cnt; i++) {
                int64_t at = proc->seen.entries[i].i64;
                int seen =
                        at == FD_SEEN_HELD ? 1 : seen_before(proc, replies, at);
                if (seen < 0) {
                        rc = FD_STORE_ERR;
                        break;
                }
                proc->seen.entries[i].i64 = seen;
        }
        for (size_t i = 0; i < proc->leads.cnt; i++) {
                fd_strmap_entry *e = &proc->leads.entries[i];
                if (e->i64 < 0)
                        continue; /* from the cache, or loaded before */
                if (fd_lead_load(e->ptr, replies[e->i64]) != 0 ||
                    (first && count_later(proc, e->ptr) != 0))
                        rc = FD_STORE_ERR;
                e->i64 = -1;
        }
        if (!first)
                take_counts(proc, replies);
        fd_resp_reset(&proc->reads);
        fd_close_take_replies(proc, replies);
        if (rc == FD_STORE_OK && first && take_dues(proc, replies) != 0)
                rc = FD_STORE_ERR;
out:
        free(replies);
        return rc;
}

/* Reads what the batch needs: round one (dedupe markers, lead states,
 * deadline sets) and, when deadline sets name leads the batch does not
 * hold, round two (those leads). With a held batch, round one carries its
 * epoch check and, after round two, its MULTI ... EXEC goes out: Redis runs
 * it while this batch is applied. */
static int read_state(fd_processor *proc, fd_msg *msgs, size_t n,
                      const fd_owned *own)
{
        int rc;

        fd_resp_reset(&proc->reads);
        if (queue_reads(proc, msgs, n, own->parts, own->cnt) != 0 ||
            fd_close_queue_reads(proc, msgs, n, &proc->reads) != 0)
                return FD_STORE_ERR;
        proc->counted_cnt = 0;
        rc = read_round(proc, 1, proc->held ? own : NULL);
        if (rc == FD_STORE_OK &&
            (fd_close_queue_anons(proc, msgs, n, &proc->reads) != 0 ||
             queue_counts(proc) != 0))
                rc = FD_STORE_ERR;
        if (rc == FD_STORE_OK)
                rc = read_round(proc, 0, NULL);
        if (proc->held) {
                if (rc == FD_STORE_OK)
                        rc = fd_store_exec_send(proc->store,
                                                &proc->held_writes);
                proc->held_rc = rc;
                proc->held_sent = rc == FD_STORE_OK;
                proc->held_batch.cmds = proc->held_writes.cmd_cnt;
                clock_gettime(CLOCK_MONOTONIC, &proc->held_batch.sent_at);
        }
        if (rc == FD_STORE_ERR)
                FD_WARN("process", "reading lead state from redis failed");
        return rc;
}

/* The "topic:partition" field of P:offsets:G into k; its length. */
static int offset_field(const fd_processor *proc, fd_event_kind topic,
                        int32_t partition, char k[320])
{
        return fd_fmt(k, 320, "%s:%d", fd_config_topic(proc->conf, topic),
                      (int)partition);
}

void fd_processor_set_next_offset(fd_processor *proc, fd_event_kind topic,
                                  int32_t partition, int64_t next)
{
        char k[320];
        int created;
        int n = offset_field(proc, topic, partition, k);
        fd_strmap_entry *e =
                fd_strmap_upsert(&proc->next_offsets, k, (size_t)n, &created);

        if (e)
                e->i64 = next;
        else /* out of memory: store nothing rather than too far */
                proc->next_offsets_broken = 1;
}

void fd_processor_clear_next_offsets(fd_processor *proc)
{
        fd_strmap_clear(&proc->next_offsets);
        proc->next_offsets_broken = 0;
}

/* Records the next offset of msg's topic partition. */
static int note_offset(fd_processor *proc, const fd_msg *msg)
{
        char k[320];
        int created = 0, n = 0;
        fd_strmap_entry *e;
        uint32_t *at = NULL;
        if ((unsigned)msg->topic < FD_EV__COUNT && msg->partition >= 0 &&
            msg->partition < FD_OFFSET_MEMO)
                at = &proc->offset_at[msg->topic][msg->partition];
        if (at && *at) {
                e = &proc->offsets.entries[*at - 1];
        } else {
                n = offset_field(proc, msg->topic, msg->partition, k);
                e = fd_strmap_upsert(&proc->offsets, k, (size_t)n, &created);
                if (!e)
                        return -1;
                if (at)
                        *at = (uint32_t)(e - proc->offsets.entries) + 1;
        }
        if (proc->next_offsets_broken)
                return -1;
        if (created || msg->offset + 1 > e->i64)
                e->i64 = msg->offset + 1;
        if (proc->next_offsets.cnt) {
                if (!n)
                        n = offset_field(proc, msg->topic, msg->partition, k);
                fd_strmap_entry *o =
                        fd_strmap_get(&proc->next_offsets, k, (size_t)n);
                if (o)
                        e->i64 = o->i64;
        }
        return 0;
}

/* Appends the offsets, counters, sets, trims and stats to the writes. */
static int finish_writes(fd_processor *proc)
{
        fd_resp *w = &proc->writes;
        int rc = 0;

        for (size_t i = 0; i < proc->leads.cnt; i++) {
                fd_lead *lead = proc->leads.entries[i].ptr;
                if (lead->dirty)
                        rc |= fd_lead_save(lead, FD_PROC_PREFIX(proc), w);
        }
        rc |= fd_apply_flush_aggregates(proc) |
              each_seen_group(proc, 0, write_seen_group);
        if (proc->offsets.cnt) {
                rc |= fd_resp_cmd(w, 2 + 2 * (int)proc->offsets.cnt) ||
                      fd_resp_str(w, "HSET") ||
                      fd_resp_fmt(w, "%s:offsets:%s", proc->prefix,
                                  fd_store_group(proc->store));
                for (size_t i = 0; i < proc->offsets.cnt; i++)
                        rc |= fd_resp_arg(w, proc->offsets.entries[i].key,
                                          proc->offsets.entries[i].klen) ||
                              fd_resp_i64(w, proc->offsets.entries[i].i64);
        }
        return rc ? -1 : 0;
}

/* Handles a deadline-set entry: re-indexes a stale one, raises the alert
 * of a due one. */
static int handle_due(fd_processor *proc, const fd_due *due, int64_t clock)
{
        return fd_cold_fix_entry(proc, due) ||
                               fd_cold_check(proc, due->lead, clock,
                                             due->partition) < 0
                       ? -1
                       : 0;
}

int fd_apply_fresh_due(fd_processor *proc, struct fd_lead *lead,
                       int32_t partition, int64_t at)
{
        fd_part_clock *pc = part_of(proc, partition);

        if (!pc)
                return -1;
        fd_due *fresh = room_for_one(proc->fresh, proc->fresh_cnt,
                                     &proc->fresh_cap, sizeof(*fresh));
        if (!fresh)
                return -1;
        proc->fresh = fresh;
        proc->fresh[proc->fresh_cnt++] =
                (fd_due){.partition = partition, .at = at, .lead = lead};
        if (at < pc->fresh_min)
                pc->fresh_min = at;
        return 0;
}

/* Handles the event-clock deadlines of partition p before its clock: the
 * entries read in round one, then those set earlier in this batch. */
static int handle_dues(fd_processor *proc, fd_part_clock *pc)
{
        int32_t p = (int32_t)(pc - proc->parts);

        while (pc->due_lo < pc->due_hi && proc->dues[pc->due_lo].at < pc->clock)
                if (handle_due(proc, &proc->dues[pc->due_lo++], pc->clock))
                        return -1;
        if (pc->fresh_min >= pc->clock)
                return 0;
        pc->fresh_min = INT64_MAX;
        for (size_t i = 0; i < proc->fresh_cnt; i++) {
                fd_due *d = &proc->fresh[i];
                if (d->partition != p || d->at == INT64_MAX)
                        continue;
                if (d->at >= pc->clock) {
                        if (d->at < pc->fresh_min)
                                pc->fresh_min = d->at;
                        continue;
                }
                d->at = INT64_MAX;
                if (fd_cold_check(proc, d->lead, pc->clock, p) < 0)
                        return -1;
        }
        return 0;
}

/* Applies msgs[0..k): before each lead or CRM event, the deadlines of its
 * partition that its time passes raise their alerts (cold.c); wall-clock
 * deadlines first. */
static int apply_msgs(fd_processor *proc, fd_msg *msgs, size_t k)
{
        for (size_t i = 0; i < proc->due_cnt && proc->dues[i].wall; i++)
                if (handle_due(proc, &proc->dues[i], INT64_MIN))
                        return -1;
        for (size_t i = 0; i < k; i++) {
                if (clocked(&msgs[i])) {
                        fd_part_clock *pc = part_of(proc, msgs[i].partition);
                        if (!pc)
                                return -1;
                        if (msgs[i].ts > pc->clock)
                                pc->clock = msgs[i].ts;
                        if (handle_dues(proc, pc))
                                return -1;
                }
                if (fd_apply_msg(proc, &msgs[i]) != 0 ||
                    note_offset(proc, &msgs[i]) != 0)
                        return -1;
        }
        for (size_t p = 0; p < proc->part_cnt; p++)
                if (handle_dues(proc, &proc->parts[p]))
                        return -1;
        return 0;
}

void fd_processor_set_quiet(fd_processor *proc, int quiet)
{
        proc->quiet = quiet;
}

int fd_processor_has_wall_clock(const fd_processor *proc)
{
        return proc->has_wall;
}

static double seconds_between(const struct timespec *t0,
                              const struct timespec *t1)
{
        return (double)(t1->tv_sec - t0->tv_sec) +
               (double)(t1->tv_nsec - t0->tv_nsec) / 1e9;
}

/* Commits r (the current batch, or the held one) and times it. */
static int commit_writes(fd_processor *proc, const fd_owned *own,
                         const fd_resp *r)
{
        struct timespec t0, t1;
        int rc;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = fd_store_commit(proc->store, own->parts, own->epochs, own->cnt, r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        proc->stats.last_commit_s = seconds_between(&t0, &t1);
        return rc;
}

/* Adds a written batch's counts to the totals. */
static void count_written(fd_processor *proc, const fd_process_stats *b,
                          size_t n)
{
        proc->stats.events += (int64_t)n;
        proc->stats.dlq += b->dlq;
        proc->stats.duplicates += b->duplicates;
        proc->stats.late += b->late;
        proc->stats.alerts += b->alerts;
        proc->stats.promotions += b->promotions;
        proc->stats.attributions += b->attributions;
        proc->stats.batches++;
}

/* What Redis holds is unknown after a failed write (a failed EXEC may or
 * may not have run; fenced: another instance writes): the cached leads go
 * and the event clocks return to before the oldest batch not written. */
static void held_clear(fd_processor *proc)
{
        proc->held = proc->held_sent = 0;
        proc->held_batch.n = 0;
        fd_resp_reset(&proc->held_writes);
        fd_strmap_clear(&proc->held_seen);
        fd_strmap_clear(&proc->held_dues);
        fd_chains_clear(&proc->held_touches);
        fd_chains_clear(&proc->held_anons);
}

static void unwritten(fd_processor *proc)
{
        fd_processor_forget_leads(proc);
        for (size_t p = 0; p < proc->part_cnt; p++) {
                fd_part_clock *pc = &proc->parts[p];
                pc->clock = proc->inflight ? pc->clock_inflight
                            : proc->held   ? pc->clock_held
                                           : pc->clock0;
        }
        held_clear(proc);
        proc->inflight = 0;
}

void fd_processor_drop_held(fd_processor *proc)
{
        if (proc->inflight) /* keep the connection in step; the answer
                             * does not matter, all is redone */
                fd_store_exec_finish(proc->store, proc->inflight_batch.cmds);
        if (proc->held || proc->inflight)
                unwritten(proc);
}

int fd_processor_inflight(const fd_processor *proc)
{
        return proc->inflight;
}

int fd_processor_holding(const fd_processor *proc)
{
        return proc->held;
}

/* Reads the answer of a sent batch; the time since it went out is the
 * last commit's. */
static int read_answer(fd_processor *proc, const fd_sent_batch *sb)
{
        struct timespec t1;
        int rc = fd_store_exec_finish(proc->store, sb->cmds);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        proc->stats.last_commit_s = seconds_between(&sb->sent_at, &t1);
        return rc;
}

/* Reads the held batch's answer if it is out: its result (also when it
 * could not be sent), kept in held_rc. */
static int settle_held(fd_processor *proc)
{
        if (proc->held_sent) {
                proc->held_rc = read_answer(proc, &proc->held_batch);
                proc->held_sent = 0;
        }
        return proc->held_rc;
}

int fd_processor_settle(fd_processor *proc)
{
        return proc->held ? settle_held(proc) : FD_STORE_OK;
}

int fd_processor_finish(fd_processor *proc)
{
        int rc;
        if (!proc->inflight)
                return FD_STORE_OK;
        rc = read_answer(proc, &proc->inflight_batch);
        if (rc != FD_STORE_OK) {
                unwritten(proc); /* and the held batch applied after it */
                return rc;
        }
        proc->inflight = 0;
        count_written(proc, &proc->inflight_batch.stats,
                      proc->inflight_batch.n);
        proc->stats.overlapped++;
        return FD_STORE_OK;
}

/* The held batch, sent, stays out unanswered (fd_processor_finish reads
 * its answer) and stops being held. */
static void send_off_held(fd_processor *proc)
{
        proc->inflight = 1;
        proc->inflight_batch = proc->held_batch;
        for (size_t p = 0; p < proc->part_cnt; p++)
                proc->parts[p].clock_inflight = proc->parts[p].clock_held;
        held_clear(proc);
}

/* The held batch is written: its counts go to the totals. */
static void held_written(fd_processor *proc)
{
        count_written(proc, &proc->held_batch.stats, proc->held_batch.n);
        held_clear(proc);
}

static void swap_maps(fd_strmap *a, fd_strmap *b)
{
        fd_strmap t = *a;
        *a = *b;
        *b = t;
}

static void swap_chains(fd_chains *a, fd_chains *b)
{
        fd_chains t = *a;
        *a = *b;
        *b = t;
}

/* Holds the applied batch (its leads are in the cache, its writes ready)
 * for the next batch to send; 0 when it cannot be held. */
static int hold(fd_processor *proc, size_t n)
{
        fd_resp tw;

        if (!proc->conf->overlap || n == 0 || !cache_keep(proc))
                return 0;
        tw = proc->held_writes;
        proc->held_writes = proc->writes;
        proc->writes = tw;
        /* The held batch's maps; the batch's get the emptied ones. */
        swap_maps(&proc->held_seen, &proc->seen);
        proc->seen_sorted = 0;
        swap_maps(&proc->held_dues, &proc->due_writes);
        swap_chains(&proc->held_touches, &proc->batch_touches);
        swap_chains(&proc->held_anons, &proc->batch_anons);
        proc->held_batch.stats = proc->batch_stats;
        proc->held_batch.n = n;
        proc->held = 1;
        proc->held_sent = 0;
        proc->held_rc = FD_STORE_ERR; /* not sent */
        for (size_t p = 0; p < proc->part_cnt; p++)
                proc->parts[p].clock_held = proc->parts[p].clock0;
        return 1;
}

/* A caller that did not read the answer of the batch in flight first. */
static int no_finish(void)
{
        FD_ERROR("process", "internal error: a batch was run or flushed "
                            "before the one in flight was answered; "
                            "redoing both from the offsets in redis");
        return FD_STORE_ERR;
}

int fd_processor_flush(fd_processor *proc, const int32_t *parts,
                       const int64_t *epochs, size_t cnt)
{
        fd_owned own = {parts, epochs, cnt};
        int rc;
        if (proc->inflight)
                return no_finish();
        if (!proc->held)
                return FD_STORE_OK;
        rc = proc->held_sent ? settle_held(proc)
                             : commit_writes(proc, &own, &proc->held_writes);
        if (rc == FD_STORE_OK)
                held_written(proc);
        else
                unwritten(proc);
        return rc;
}

int fd_processor_run(fd_processor *proc, fd_msg *msgs, size_t n,
                     const int32_t *parts, const int64_t *epochs, size_t cnt,
                     int *held_done)
{
        fd_owned own = {parts, epochs, cnt};
        int rc;

        *held_done = 0;
        if (proc->inflight)
                return no_finish();
        if (n == 0 && proc->held) { /* a wall-clock check: write it first */
                rc = fd_processor_flush(proc, parts, epochs, cnt);
                if (rc != FD_STORE_OK)
                        return rc;
                *held_done = 1;
        }
        if (n == 0 && (!cnt || !proc->has_wall))
                return FD_STORE_OK;
        batch_reset(proc);
        proc->wall_now = fd_wall_ms();
        fd_dedupe_plan_at(proc->wall_now, proc->conf->dedupe_window_ms,
                          fd_store_dedupe_v1_until(proc->store), &proc->dedupe);
        for (size_t p = 0; p < proc->part_cnt; p++)
                proc->parts[p].clock0 = proc->parts[p].clock;
        rc = read_state(proc, msgs, n, &own);
        if (rc == FD_STORE_OK && apply_msgs(proc, msgs, n) != 0)
                rc = FD_STORE_ERR;
        if (rc == FD_STORE_OK && finish_writes(proc) != 0)
                rc = FD_STORE_ERR;
        if (proc->held && rc == FD_STORE_OK && proc->held_sent && n &&
            proc->conf->overlap && cache_keep(proc)) {
                /* This batch will be held: its answer can wait until the
                 * next batch is due. */
                send_off_held(proc);
        } else if (proc->held) {
                int hrc = settle_held(proc);
                if (hrc != FD_STORE_OK) {
                        unwritten(proc);
                        batch_reset(proc);
                        return hrc;
                }
                held_written(proc);
                proc->stats.overlapped++;
                *held_done = 1;
        }
        if (rc == FD_STORE_OK && n == 0 && proc->writes.cmd_cnt == 0) {
                batch_reset(proc); /* a wall-clock check with nothing due */
                return FD_STORE_OK;
        }
        if (rc == FD_STORE_OK && hold(proc, n)) {
                batch_reset(proc);
                return FD_STORE_OK;
        }
        if (rc == FD_STORE_OK)
                rc = commit_writes(proc, &own, &proc->writes);
        if (rc == FD_STORE_OK) {
                count_written(proc, &proc->batch_stats, n);
                cache_keep(proc);
        } else {
                unwritten(proc);
        }
        batch_reset(proc);
        return rc;
}
