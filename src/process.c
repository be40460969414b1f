/* funneld — batch processing: read, apply, commit. */
#include "process.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "fmt.h"
#include "keys.h"
#include "lead.h"
#include "log.h"

void fd_msg_clear(fd_msg *msg)
{
        fd_event_clear(&msg->ev);
        free(msg->errmsg);
        free(msg->raw);
        free(msg->key);
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
        proc->codec = codec;
        proc->store = store;
        proc->prefix = fd_store_prefix(store);
        fd_strmap_init(&proc->leads);
        fd_strmap_init(&proc->cache[0]);
        fd_strmap_init(&proc->cache[1]);
        fd_strmap_init(&proc->seen);
        fd_strmap_init(&proc->counters);
        fd_strmap_init(&proc->sets);
        fd_strmap_init(&proc->hlls);
        fd_strmap_init(&proc->trims);
        fd_strmap_init(&proc->offsets);
        fd_strmap_init(&proc->next_offsets);
        return proc;
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
        leads_clear(&proc->cache[0]);
        leads_clear(&proc->cache[1]);
}

/* The cached state of key, taken out of the cache, or NULL. */
static fd_lead *cache_take(fd_processor *proc, const char *key, size_t len)
{
        for (int g = 0; g < 2; g++) {
                fd_strmap_entry *e = fd_strmap_get(
                        &proc->cache[(proc->cache_cur + g) % 2], key, len);
                if (e && e->ptr) {
                        fd_lead *lead = e->ptr;
                        e->ptr = NULL;
                        return lead;
                }
        }
        return NULL;
}

/* Keeps the committed states of the batch's leads for the next batches.
 * When the current generation is full, the older one is dropped: what was
 * not used for a whole generation leaves memory. */
static void cache_keep(fd_processor *proc)
{
        size_t half = (size_t)proc->conf->lead_cache / 2;
        for (size_t i = 0; half && i < proc->leads.cnt; i++) {
                fd_strmap_entry *b = &proc->leads.entries[i];
                fd_strmap *cur = &proc->cache[proc->cache_cur];
                fd_lead *lead = b->ptr;
                int created;
                if (cur->cnt >= half) {
                        proc->cache_cur = 1 - proc->cache_cur;
                        cur = &proc->cache[proc->cache_cur];
                        leads_clear(cur);
                }
                fd_strmap_entry *e =
                        fd_strmap_upsert(cur, b->key, b->klen, &created);
                if (!e)
                        return; /* out of memory: not cached, still fine */
                fd_lead_destroy(e->ptr);
                lead->dirty = 0;
                e->ptr = lead;
                b->ptr = NULL;
        }
}

static void batch_reset(fd_processor *proc)
{
        leads_clear(&proc->leads);
        fd_strmap_clear(&proc->leads);
        fd_strmap_clear(&proc->seen);
        fd_strmap_clear(&proc->counters);
        fd_strmap_clear(&proc->sets);
        fd_strmap_clear(&proc->hlls);
        fd_strmap_clear(&proc->trims);
        fd_strmap_clear(&proc->offsets);
        fd_resp_reset(&proc->reads);
        fd_resp_reset(&proc->writes);
        fd_apply_touches_free(&proc->close_touches);
        memset(&proc->batch_stats, 0, sizeof(proc->batch_stats));
}

void fd_processor_destroy(fd_processor *proc)
{
        if (!proc)
                return;
        batch_reset(proc);
        fd_processor_forget_leads(proc);
        fd_strmap_free(&proc->cache[0]);
        fd_strmap_free(&proc->cache[1]);
        fd_strmap_free(&proc->leads);
        fd_strmap_free(&proc->seen);
        fd_strmap_free(&proc->counters);
        fd_strmap_free(&proc->sets);
        fd_strmap_free(&proc->hlls);
        fd_strmap_free(&proc->trims);
        fd_strmap_free(&proc->offsets);
        fd_strmap_free(&proc->next_offsets);
        fd_resp_free(&proc->reads);
        fd_resp_free(&proc->writes);
        fd_buf_free(&proc->scratch);
        fd_buf_free(&proc->member);
        fd_buf_free(&proc->enc);
        free(proc);
}

void fd_processor_set_config(fd_processor *proc, const fd_config *conf)
{
        fd_processor_forget_leads(proc); /* they point at the old rules */
        proc->conf = conf;
}

const fd_process_stats *fd_processor_stats(const fd_processor *proc)
{
        return &proc->stats;
}

/* A close reads the lead's journey (its touches) committed before it. */
static int is_close(const fd_msg *msg)
{
        fd_stage st;
        if (msg->ev.kind != FD_EV_CRM)
                return 0;
        st = fd_stage_parse(msg->ev.u.crm.stage);
        return st == FD_STAGE_CLOSED_WON || st == FD_STAGE_CLOSED_LOST;
}

/* Builds "a\0b" into proc->scratch and returns it (valid until next use). */
static const char *pair_key(fd_processor *proc, const char *a, const char *b,
                            size_t *len)
{
        fd_buf_reset(&proc->scratch);
        fd_buf_append(&proc->scratch, a, strlen(a) + 1);
        fd_buf_append(&proc->scratch, b, strlen(b));
        *len = proc->scratch.len;
        return proc->scratch.data;
}

/* Queues the reads of round one: dedupe markers and lead states. Entries of
 * proc->seen and proc->leads get i64 = index of their reply. */
static int queue_reads(fd_processor *proc, fd_msg *msgs, size_t n)
{
        fd_resp *r = &proc->reads;
        for (size_t i = 0; i < n; i++) {
                const fd_event *ev = &msgs[i].ev;
                const char *tenant, *event_id, *lead_id;
                fd_strmap_entry *e;
                size_t len;
                int created;

                if (ev->kind == FD_EV_NONE)
                        continue;
                fd_apply_event_ids(ev, &tenant, &event_id, &lead_id);
                const char *k = pair_key(proc, tenant, event_id, &len);
                e = fd_strmap_upsert(&proc->seen, k, len, &created);
                if (!e)
                        return -1;
                if (created) {
                        e->i64 = (int64_t)r->cmd_cnt;
                        if (fd_resp_cmd(r, 2) || fd_resp_str(r, "EXISTS") ||
                            fd_key_seen(r, proc->prefix, tenant, event_id))
                                return -1;
                }
                if (!lead_id)
                        continue;
                k = pair_key(proc, tenant, lead_id, &len);
                e = fd_strmap_upsert(&proc->leads, k, len, &created);
                if (!e)
                        return -1;
                if (created) {
                        e->ptr = cache_take(proc, k, len);
                        e->i64 = -1;
                        if (e->ptr)
                                continue;
                        e->ptr = fd_lead_new(
                                tenant, lead_id,
                                fd_config_tenant(proc->conf, tenant));
                        if (!e->ptr)
                                return -1;
                        e->i64 = (int64_t)r->cmd_cnt;
                        if (fd_resp_cmd(r, 2) || fd_resp_str(r, "HGETALL") ||
                            fd_key_lead(r, proc->prefix, tenant, lead_id))
                                return -1;
                }
        }
        return 0;
}

/* Runs round one and loads its replies into the maps. */
static int read_state(fd_processor *proc, fd_msg *msgs, size_t n)
{
        redisReply **replies;
        int rc = FD_STORE_ERR;

        fd_resp_reset(&proc->reads);
        if (queue_reads(proc, msgs, n) != 0)
                return FD_STORE_ERR;
        if (proc->reads.cmd_cnt == 0)
                return FD_STORE_OK;
        replies = calloc(proc->reads.cmd_cnt, sizeof(*replies));
        if (!replies)
                return FD_STORE_ERR;
        if (fd_store_pipeline(proc->store, &proc->reads, replies) !=
            FD_STORE_OK)
                goto out;
        rc = FD_STORE_OK;
        for (size_t i = 0; i < proc->seen.cnt; i++) {
                redisReply *rep = replies[proc->seen.entries[i].i64];
                proc->seen.entries[i].i64 =
                        rep->type == REDIS_REPLY_INTEGER && rep->integer ? 1
                                                                         : 0;
                if (rep->type == REDIS_REPLY_ERROR)
                        rc = FD_STORE_ERR;
        }
        for (size_t i = 0; i < proc->leads.cnt; i++) {
                if (proc->leads.entries[i].i64 < 0)
                        continue; /* from the cache */
                redisReply *rep = replies[proc->leads.entries[i].i64];
                if (fd_lead_load(proc->leads.entries[i].ptr, rep) != 0)
                        rc = FD_STORE_ERR;
        }
        for (size_t i = 0; i < proc->reads.cmd_cnt; i++)
                freeReplyObject(replies[i]);
out:
        free(replies);
        if (rc != FD_STORE_OK)
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
        int created;
        int n = offset_field(proc, msg->topic, msg->partition, k);
        fd_strmap_entry *e =
                fd_strmap_upsert(&proc->offsets, k, (size_t)n, &created);
        if (!e || proc->next_offsets_broken)
                return -1;
        if (created || msg->offset + 1 > e->i64)
                e->i64 = msg->offset + 1;
        if (proc->next_offsets.cnt) {
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
                        rc |= fd_lead_save(lead, proc->prefix, w);
        }
        rc |= fd_apply_flush_aggregates(proc);
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

size_t fd_processor_prefix(const fd_msg *msgs, size_t n)
{
        for (size_t i = 1; i < n; i++)
                if (is_close(&msgs[i]))
                        return i;
        return n;
}

int fd_processor_run(fd_processor *proc, fd_msg *msgs, size_t n,
                     const int32_t *parts, const int64_t *epochs, size_t cnt,
                     size_t *consumed)
{
        size_t k = fd_processor_prefix(msgs, n);
        int rc;

        *consumed = 0;
        if (n == 0)
                return FD_STORE_OK;
        batch_reset(proc);
        rc = read_state(proc, msgs, k);
        if (rc == FD_STORE_OK && is_close(&msgs[0]))
                rc = fd_apply_read_touches(proc, &msgs[0]);
        for (size_t i = 0; i < k && rc == FD_STORE_OK; i++) {
                if (fd_apply_msg(proc, &msgs[i]) != 0 ||
                    note_offset(proc, &msgs[i]) != 0)
                        rc = FD_STORE_ERR;
        }
        if (rc == FD_STORE_OK && finish_writes(proc) != 0)
                rc = FD_STORE_ERR;
        if (rc == FD_STORE_OK) {
                struct timespec t0, t1;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                rc = fd_store_commit(proc->store, parts, epochs, cnt,
                                     &proc->writes);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                proc->stats.last_commit_s =
                        (double)(t1.tv_sec - t0.tv_sec) +
                        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        }
        if (rc == FD_STORE_OK) {
                const fd_process_stats *b = &proc->batch_stats;
                proc->stats.events += (int64_t)k;
                proc->stats.dlq += b->dlq;
                proc->stats.duplicates += b->duplicates;
                proc->stats.late += b->late;
                proc->stats.promotions += b->promotions;
                proc->stats.attributions += b->attributions;
                proc->stats.batches++;
                *consumed = k;
                cache_keep(proc);
        } else {
                /* What Redis holds is unknown now (a failed EXEC may or may
                 * not have run; fenced: another instance writes). */
                fd_processor_forget_leads(proc);
        }
        batch_reset(proc);
        return rc;
}
