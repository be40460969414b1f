/* funneld — the consume loop. */
#include "pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "clock.h"
#include "kafka.h"
#include "log.h"
#include "outbox.h"
#include "replay.h"
#include "slab.h"
#include "validate.h"

#define FD_FENCE_REJOIN_MS 30000 /* fenced, no rebalance: claim again */
#define FD_STATUS_MS       1000  /* lag, outbox depth, watermarks */
#define FD_SETTLE_MS       30000 /* outbox deliveries awaited at the end */
#define FD_PRIME_WAIT_MS                                                       \
        60000 /* longest wait for a partition's first fetch                    \
               */

/* Messages buffered for one input partition, oldest first. */
typedef struct fd_queue {
        fd_msg *items;
        int64_t *arrived; /* ms, monotonic: when items[i] was queued */
        size_t head, tail, cap;
        int at_eof; /* consumer reached the end and nothing since */
        int ended;  /* empty and known to be at its end (queue_ended) */
        uint32_t ended_fill; /* the fill_batch that set ended */
        int64_t next; /* the offset after the last message or end seen, -1 */
        int primed;   /* a message or the end arrived since assignment */
        int paused;
        int64_t wait_since; /* ms, monotonic; since when the merge waits
                             * for this empty queue, 0 = not waiting */
        /* processing.allowed_lateness_ms > 0: the queue is kept in order
         * of (ts, event_id) instead of arrival. */
        int64_t max_ts;     /* latest event time pushed since assignment */
        int64_t popped_ts;  /* latest event time popped */
        int64_t max_popped; /* highest offset popped, -1 none */
        int64_t last_push;  /* ms, monotonic */
        fd_slab *slab;      /* its events' strings (NULL: malloc) */
} fd_queue;

/* The ring slot of queue position i (cap is a power of two: no division,
 * which the merge's scan of every queue head did per message). */
static inline size_t slot_of(const fd_queue *q, size_t i)
{
        return i & (q->cap - 1);
}

/* A queue as fill_batch's merge sees it (merge_scan). */
typedef struct merge_head {
        fd_queue *q;
        int64_t ts; /* state MERGE_READY: q's head's time and topic */
        int topic;
        int state;
        int t;     /* topic index */
        int32_t p; /* partition */
} merge_head;

struct fd_pipeline {
        const fd_config *conf;
        fd_codec *codec;
        fd_store *store;
        fd_processor *proc;
        rd_kafka_t *consumer;
        rd_kafka_t *producer;
        rd_kafka_topic_t *out_topics[4]; /* kept known (fd_kafka_topics_warm) */
        fd_metrics *metrics;
        fd_kafka_ctx kctx; /* opaque of both clients */
        fd_outbox *outbox;
        int32_t nparts;
        fd_queue *queues[FD_IN_TOPICS]; /* by kind - 1: lead, crm, spend */
        int ntopics;    /* input topics read: 2, or 3 with the spend topic */
        int32_t *owned; /* partition numbers assigned, sorted */
        int64_t *epochs;
        size_t owned_cnt;
        int64_t *next[FD_IN_TOPICS];  /* per partition: next offset in Redis,
                                       * -1 unknown */
        int64_t *ksent[FD_IN_TOPICS]; /* per partition: next offset last
                                       * committed to Kafka, -1 none */
        int kcommit_due;              /* next moved since the last commit */
        int64_t kcommit_at; /* ms, monotonic: the last commit to Kafka */
        int64_t status_at;  /* ms, monotonic: last status report */
        volatile sig_atomic_t *stop;
        volatile sig_atomic_t *reload; /* SIGHUP: read the config again */
        const char *config_path;
        fd_config **reloaded; /* configs read by reloads, freed at the end */
        size_t reloaded_cnt;
        int fatal; /* stopped by an error: fd_pipeline_run returns -1 */
        rd_kafka_topic_partition_list_t *fenced_list; /* set aside by fence() */
        int64_t fenced_since;
        int64_t wall_checked;   /* fd_mono_ms() of the last wall-clock check */
        fd_replay *replay;      /* replay.readers_prefix; NULL: live */
        int64_t replay_checked; /* fd_mono_ms() of the last catch-up check */
        int drain_due;
        int need_reset;   /* re-read offsets from Redis and re-seek */
        int64_t retry_at; /* ms, monotonic: a refused batch is redone from
                           * then on (a pause that doubles up to 5 s) */
        int retry_ms;
        fd_msg *batch;
        size_t batch_cnt, batch_cap;
        uint32_t fill_cnt; /* fill_batch calls (queue_ended) */
        merge_head *merge; /* fill_batch: the owned queues' states */
        size_t merge_cnt, merge_cap;
        uint32_t catchup_fill; /* the fill_cnt catching_up was decided at */
        int catching_up;       /* batch_limit: the lag calls for
                                  batch.catchup_events */
        fd_msg *held; /* the batch the processor holds (processing.overlap):
                       * applied, not written yet */
        size_t held_cnt, held_cap;
        fd_msg *inflight; /* the batch before it, sent, unanswered */
        size_t inflight_cnt, inflight_cap;
        int64_t batch_oldest; /* ms, monotonic: arrival of the batch's
                               * earliest-buffered message */
        int64_t *next_store;  /* set_next_offsets: [topic][partition] */
};

static size_t queue_len(const fd_queue *q)
{
        return q->tail - q->head;
}

static int flush_held(fd_pipeline *pl);
static int settle(fd_pipeline *pl);
static void written(fd_pipeline *pl, fd_msg *msgs, size_t *n);
static void commit_to_kafka(fd_pipeline *pl, int now);
static void drain_outboxes(fd_pipeline *pl);

static void queue_clear(fd_queue *q)
{
        for (size_t i = q->head; i < q->tail; i++)
                fd_msg_clear(&q->items[slot_of(q, i)]);
        q->head = q->tail = 0;
        q->at_eof = 0;
        q->ended_fill = 0;
        q->next = -1;
        q->primed = 0;
        q->wait_since = 0;
        q->max_ts = q->popped_ts = INT64_MIN;
        q->max_popped = -1;
}

/* The event id of msg ("" for a bad one), for ordering equal times. */
static const char *msg_event_id(const fd_msg *msg)
{
        if (msg->ev.kind == FD_EV_NONE)
                return "";
        return fd_apply_event_ids(&msg->ev).event_id.s;
}

/* Event-time order of the reorder buffer: occurred_at, then event id. */
static int msg_before(const fd_msg *a, const fd_msg *b)
{
        if (a->ts != b->ts)
                return a->ts < b->ts;
        return strcmp(msg_event_id(a), msg_event_id(b)) < 0;
}

/* Takes ownership of *msg (left zeroed). With sorted, the message goes to
 * its place in event-time order (from the tail: input is mostly in order).
 * A message that will be applied after a later one of its partition is
 * marked late. */
static int queue_push(fd_queue *q, fd_msg *msg, int sorted, int64_t now)
{
        if (queue_len(q) == q->cap) {
                size_t cap = q->cap ? q->cap * 2 : 256;
                /* Not zeroed: only [head, tail) is ever read, and a slot is
                 * written before it joins that range. */
                fd_msg *items = cap <= SIZE_MAX / sizeof(*items)
                                        ? malloc(cap * sizeof(*items))
                                        : NULL;
                int64_t *arrived = malloc(cap * sizeof(*arrived));
                if (!items || !arrived) {
                        free(items);
                        free(arrived);
                        return -1;
                }
                for (size_t i = q->head; i < q->tail; i++) {
                        items[i - q->head] = q->items[slot_of(q, i)];
                        arrived[i - q->head] = q->arrived[slot_of(q, i)];
                }
                free(q->items);
                free(q->arrived);
                q->tail -= q->head;
                q->head = 0;
                q->items = items;
                q->arrived = arrived;
                q->cap = cap;
        }
        size_t at = q->tail;
        /* Late: it will be applied after a later event of its partition
         * (one already applied, or, unsorted, one ahead in the queue). */
        if (msg->ts != INT64_MIN &&
            msg->ts < (sorted ? q->popped_ts : q->max_ts))
                msg->late = 1;
        if (msg->ts > q->max_ts)
                q->max_ts = msg->ts;
        if (sorted) {
                for (; at > q->head &&
                       msg_before(msg, &q->items[slot_of(q, at - 1)]);
                     at--) {
                        q->items[slot_of(q, at)] = q->items[slot_of(q, at - 1)];
                        q->arrived[slot_of(q, at)] =
                                q->arrived[slot_of(q, at - 1)];
                }
        }
        q->arrived[slot_of(q, at)] = now;
        q->items[slot_of(q, at)] = *msg;
        q->tail++;
        q->last_push = now;
        q->next = msg->offset + 1;
        memset(msg, 0, sizeof(*msg));
        q->at_eof = 0;
        q->primed = 1;
        q->wait_since = 0;
        return 0;
}

static fd_msg *queue_peek(fd_queue *q)
{
        return queue_len(q) ? &q->items[slot_of(q, q->head)] : NULL;
}

/* Moves the head into *out (taken by the caller). */
static void queue_pop(fd_queue *q, fd_msg *out)
{
        *out = q->items[slot_of(q, q->head)];
        if (out->ts > q->popped_ts)
                q->popped_ts = out->ts;
        if (out->offset > q->max_popped)
                q->max_popped = out->offset;
        q->head++;
}

const fd_process_stats *fd_pipeline_stats(const fd_pipeline *pl)
{
        return fd_processor_stats(pl->proc);
}

static void *memdup(const void *p, size_t len)
{
        void *copy = malloc(len ? len : 1);
        if (copy && len)
                memcpy(copy, p, len);
        return copy;
}

/* Decodes a consumed message into out; a bad one keeps its bytes for the
 * DLQ. */
static void decode_msg(fd_pipeline *pl, const rd_kafka_message_t *m,
                       fd_event_kind kind, int64_t wall_now, fd_slab *slab,
                       fd_msg *out)
{
        char errstr[512];
        fd_decode_limits limits = {
                .max_bytes = pl->conf->max_message_bytes,
                .min_event_time_ms = pl->conf->min_event_time_ms,
                .max_event_time_ms = wall_now + pl->conf->max_future_ms,
                .slab = slab,
        };
        memset(out, 0, sizeof(*out));
        out->topic = kind;
        out->partition = m->partition;
        out->offset = m->offset;
        out->err = fd_codec_decode(pl->codec, kind, m->payload, m->len, &limits,
                                   &out->ev, errstr, sizeof(errstr));
        if (out->err == FD_DECODE_OK) {
                if (fd_validate_limits(&out->ev, errstr, sizeof(errstr)) == 0) {
                        out->ts = kind == FD_EV_LEAD
                                          ? out->ev.u.lead.occurred_at
                                  : kind == FD_EV_CRM
                                          ? out->ev.u.crm.occurred_at
                                          : out->ev.u.spend.occurred_at;
                        return;
                }
                fd_event_clear(&out->ev);
                out->err = FD_DECODE_INVALID_FIELD;
        }
        out->ts = INT64_MIN;
        if ((out->bad = calloc(1, sizeof(*out->bad)))) {
                out->bad->errmsg = strdup(errstr);
                out->bad->raw = memdup(m->payload, m->len);
                out->bad->raw_len = out->bad->raw ? m->len : 0;
                if (m->key) {
                        out->bad->key = memdup(m->key, m->key_len);
                        out->bad->key_len = m->key_len;
                }
        }
        FD_DEBUG("pipeline", "%s [%d] offset %lld to the DLQ: %s",
                 rd_kafka_topic_name(m->rkt), (int)m->partition,
                 (long long)m->offset, errstr);
}

static fd_queue *queue_of(fd_pipeline *pl, int topic_idx, int32_t partition)
{
        if (partition < 0 || partition >= pl->nparts)
                return NULL;
        return &pl->queues[topic_idx][partition];
}

/* The input topic of index t (kind - 1). */
static const char *topic_name(const fd_pipeline *pl, int t)
{
        return fd_config_topic(pl->conf, t + 1);
}

static int topic_index(const fd_pipeline *pl, const char *topic)
{
        for (int t = 0; t < pl->ntopics; t++)
                if (strcmp(topic, topic_name(pl, t)) == 0)
                        return t;
        return -1;
}

static void set_paused(fd_pipeline *pl, int idx, int32_t partition, int pause)
{
        rd_kafka_topic_partition_list_t *l =
                rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, topic_name(pl, idx), partition);
        if (pause)
                rd_kafka_pause_partitions(pl->consumer, l);
        else
                rd_kafka_resume_partitions(pl->consumer, l);
        rd_kafka_topic_partition_list_destroy(l);
        pl->queues[idx][partition].paused = pause;
}

/* m's Kafka timestamp on the monotonic clock (fd_msg.produced), from its
 * age on arrival (now, wall_now). The age counts as 0 when m has no
 * timestamp or its producer's clock is ahead of ours, and as FD_AGE_CAP_MS
 * at most (the unsigned difference at commit then stays right for as long
 * again). */
static uint32_t produced_at(const rd_kafka_message_t *m, int64_t now,
                            int64_t wall_now)
{
        int64_t ts = rd_kafka_message_timestamp(m, NULL);
        int64_t age = ts < 0 || ts > wall_now ? 0 : wall_now - ts;
        return (uint32_t)(now - (age < FD_AGE_CAP_MS ? age : FD_AGE_CAP_MS));
}

/* Takes one consumer event (message, EOF or error) into the queues; now
 * (fd_mono_ms) is its arrival time, wall_now (fd_wall_ms) the time the
 * future limit of event times counts from. */
static void take_message(fd_pipeline *pl, rd_kafka_message_t *m, int64_t now,
                         int64_t wall_now)
{
        int idx = m->rkt ? topic_index(pl, rd_kafka_topic_name(m->rkt)) : -1;
        fd_queue *q = idx >= 0 ? queue_of(pl, idx, m->partition) : NULL;
        fd_msg msg;

        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (q) {
                        q->at_eof = 1;
                        q->next = m->offset;
                        q->primed = 1;
                        q->wait_since = 0;
                }
                return;
        }
        if (m->err) {
                FD_WARN("pipeline", "consumer: %s; retrying",
                        rd_kafka_message_errstr(m));
                fd_metrics_count_error(pl->metrics, FD_COMP_KAFKA);
                return;
        }
        if (!q)
                return;
        /* A queue's events are released in about the order they came: their
         * strings share its slab's chunks (64 KiB: ~150 events). */
        if (!q->slab)
                q->slab = fd_slab_new(64 * 1024); /* NULL: malloc each */
        decode_msg(pl, m, (fd_event_kind)(idx + 1), wall_now, q->slab, &msg);
        msg.produced = produced_at(m, now, wall_now);
        if (queue_push(q, &msg, pl->conf->allowed_lateness_ms > 0, now) != 0) {
                fd_msg_clear(&msg);
                pl->need_reset = 1;
                return;
        }
        if (!q->paused && queue_len(q) >= (size_t)pl->conf->queue_max_events)
                set_paused(pl, idx, m->partition, 1);
}

static int cmp_i32(const void *a, const void *b)
{
        int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
        return (x > y) - (x < y);
}

/* Claims the partitions of list in Redis and sets each element's offset to
 * the stored next offset (the beginning when none is stored). */
/* For the elements of list without an offset in Redis (offset set to
 * RD_KAFKA_OFFSET_INVALID), asks Kafka whether the group committed one: then
 * the partition has history that Redis lost. Applies
 * processing.on_missing_offsets: 0 to go on (from the beginning), -1 to
 * stop (reported). */
static int check_missing_offsets(fd_pipeline *pl,
                                 rd_kafka_topic_partition_list_t *list)
{
        rd_kafka_topic_partition_list_t *missing =
                rd_kafka_topic_partition_list_new(list->cnt);
        int rc = 0;
        for (int i = 0; i < list->cnt; i++)
                if (list->elems[i].offset == RD_KAFKA_OFFSET_INVALID)
                        rd_kafka_topic_partition_list_add(
                                missing, list->elems[i].topic,
                                list->elems[i].partition);
        if (missing->cnt &&
            rd_kafka_committed(pl->consumer, missing, 10000) == 0) {
                for (int i = 0; i < missing->cnt && rc == 0; i++) {
                        const rd_kafka_topic_partition_t *tp =
                                &missing->elems[i];
                        if (tp->offset < 0)
                                continue; /* never consumed: a new start */
                        if (!pl->conf->on_missing_offsets ||
                            strcmp(pl->conf->on_missing_offsets, "rebuild")) {
                                FD_ERROR("pipeline",
                                         "redis holds no offset for %s [%d] "
                                         "but group '%s' committed offset "
                                         "%lld in kafka: redis lost its data "
                                         "(restarted without persistence?) "
                                         "or redis.prefix/db changed; restore "
                                         "redis, or set "
                                         "processing.on_missing_offsets = "
                                         "rebuild to rebuild the state from "
                                         "the earliest retained offsets",
                                         tp->topic, (int)tp->partition,
                                         pl->conf->group_id,
                                         (long long)tp->offset);
                                rc = -1;
                        } else {
                                FD_WARN("pipeline",
                                        "redis holds no offset for %s [%d] "
                                        "(kafka has %lld): rebuilding from "
                                        "the earliest retained offset "
                                        "(processing.on_missing_offsets = "
                                        "rebuild)",
                                        tp->topic, (int)tp->partition,
                                        (long long)tp->offset);
                        }
                }
        }
        rd_kafka_topic_partition_list_destroy(missing);
        for (int i = 0; i < list->cnt; i++)
                if (list->elems[i].offset == RD_KAFKA_OFFSET_INVALID)
                        list->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        return rc;
}

static int claim_and_position(fd_pipeline *pl,
                              rd_kafka_topic_partition_list_t *list)
{
        size_t n = 0;
        for (int i = 0; i < list->cnt; i++) {
                int32_t p = list->elems[i].partition;
                int seen = 0;
                for (size_t j = 0; j < n; j++)
                        seen |= pl->owned[j] == p;
                if (!seen && p >= 0 && p < pl->nparts)
                        pl->owned[n++] = p;
        }
        qsort(pl->owned, n, sizeof(*pl->owned), cmp_i32);
        pl->owned_cnt = 0;
        if (fd_store_claim(pl->store, pl->owned, n, pl->epochs) != FD_STORE_OK)
                return -1;
        for (int i = 0; i < list->cnt; i++) {
                rd_kafka_topic_partition_t *tp = &list->elems[i];
                int64_t off;
                if (fd_store_offsets(pl->store, tp->topic, &tp->partition, 1,
                                     &off) != FD_STORE_OK)
                        return -1;
                tp->offset = off >= 0 ? off : RD_KAFKA_OFFSET_INVALID;
                int idx = topic_index(pl, tp->topic);
                if (idx >= 0 && tp->partition >= 0 &&
                    tp->partition < pl->nparts) {
                        pl->next[idx][tp->partition] = off;
                        pl->ksent[idx][tp->partition] = -1;
                        pl->kcommit_due |= off >= 0; /* Kafka may lag */
                }
        }
        if (check_missing_offsets(pl, list) != 0) {
                pl->fatal = 1;
                if (pl->stop)
                        *pl->stop = 1;
                return -2;
        }
        pl->owned_cnt = n;
        return 0;
}

/* Sleeps with exponential backoff between Redis reconnect attempts until
 * one succeeds. */
static int reconnect_store(fd_pipeline *pl)
{
        char errstr[512];
        int delay_ms = 100;
        while (fd_store_reconnect(pl->store, errstr, sizeof(errstr)) != 0) {
                fd_metrics_down(pl->metrics, FD_COMP_REDIS, errstr);
                fd_metrics_heartbeat(pl->metrics);
                if (pl->stop && *pl->stop)
                        return -1;
                FD_WARN("pipeline",
                        "%s; retrying in %d ms (processing is paused, nothing "
                        "is lost)",
                        errstr, delay_ms);
                struct timespec ts = {delay_ms / 1000,
                                      (long)(delay_ms % 1000) * 1000000};
                nanosleep(&ts, NULL);
                delay_ms = delay_ms >= 2500 ? 5000 : delay_ms * 2;
        }
        FD_INFO("pipeline", "reconnected to redis");
        fd_metrics_up(pl->metrics, FD_COMP_REDIS);
        return 0;
}

/* Drops what was read ahead and the lead states kept between batches:
 * called whenever partitions move or Redis must be read again, before
 * librdkafka's assignment changes. A partition paused for its full queue
 * is resumed here, not after the next rd_kafka_assign(): librdkafka keeps
 * the pause across a re-assignment (the partition would never fetch
 * again), and a resume that follows an assign closely can make the
 * assign's start offset look outdated to the fetcher, which then never
 * starts (librdkafka issues 2190 and 4637: a partition stalled for good
 * after a Redis outage in CI). */
static void drop_buffers(fd_pipeline *pl)
{
        fd_processor_forget_leads(pl->proc);
        if (pl->outbox)
                fd_outbox_forget(pl->outbox);
        for (int t = 0; t < pl->ntopics; t++)
                for (int32_t p = 0; p < pl->nparts; p++) {
                        queue_clear(&pl->queues[t][p]);
                        if (pl->queues[t][p].paused)
                                set_paused(pl, t, p, 0);
                }
        for (size_t i = 0; i < pl->batch_cnt; i++)
                fd_msg_clear(&pl->batch[i]);
        pl->batch_cnt = 0;
        fd_processor_drop_held(pl->proc); /* redone from Redis's offsets */
        for (size_t i = 0; i < pl->held_cnt; i++)
                fd_msg_clear(&pl->held[i]);
        pl->held_cnt = 0;
        for (size_t i = 0; i < pl->inflight_cnt; i++)
                fd_msg_clear(&pl->inflight[i]);
        pl->inflight_cnt = 0;
}

/* Before list is assigned, from each partition's watermarks asked of the
 * broker: a partition Redis holds no offset for (BEGINNING) starts at its
 * low watermark, so librdkafka fetches it at once (it looks BEGINNING up
 * on a timer, half a second later); one whose stored offset the topic's
 * retention deleted starts there too, with a warning (librdkafka's
 * out-of-range reset would fetch first and wait); and the queues of
 * partitions that
 * start at their end are marked so: librdkafka does not report the end of
 * a partition again when it is re-assigned at the offset where it already
 * was, and the merge would wait FD_PRIME_WAIT_MS for a partition that has
 * nothing to send. */
static void resolve_starts(fd_pipeline *pl,
                           rd_kafka_topic_partition_list_t *list)
{
        for (int i = 0; i < list->cnt; i++) {
                rd_kafka_topic_partition_t *tp = &list->elems[i];
                int t = topic_index(pl, tp->topic);
                fd_queue *q = t >= 0 ? queue_of(pl, t, tp->partition) : NULL;
                int64_t lo, hi;
                if (!q || rd_kafka_query_watermark_offsets(
                                  pl->consumer, tp->topic, tp->partition, &lo,
                                  &hi, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
                        continue;
                if (tp->offset == RD_KAFKA_OFFSET_BEGINNING && lo >= 0)
                        tp->offset = lo;
                if (tp->offset >= 0 && lo > tp->offset) {
                        FD_WARN("pipeline",
                                "%s [%d]: offsets %lld to %lld were deleted "
                                "by the topic's retention before funneld "
                                "applied them; their events are lost and "
                                "funneld goes on at offset %lld. Keep "
                                "funneld's lag below the topic's retention "
                                "(retention.ms / retention.bytes)",
                                tp->topic, (int)tp->partition,
                                (long long)tp->offset, (long long)lo - 1,
                                (long long)lo);
                        tp->offset = lo;
                }
                if (tp->offset >= hi) {
                        q->at_eof = 1;
                        q->next = hi;
                        q->primed = 1;
                }
        }
}

/* Assigns list (or re-assigns it after a failure) from Redis's offsets. */
static void assign_from_store(fd_pipeline *pl,
                              rd_kafka_topic_partition_list_t *list)
{
        drop_buffers(pl);
        int rc;
        while ((rc = claim_and_position(pl, list)) != 0)
                if (rc == -2 || reconnect_store(pl) != 0)
                        return; /* stopping: leave it unassigned */
        resolve_starts(pl, list);
        /* no partition is paused here (drop_buffers resumed them) */
        rd_kafka_resp_err_t rerr = rd_kafka_assign(pl->consumer, list);
        if (rerr)
                FD_ERROR("pipeline", "assign failed: %s",
                         rd_kafka_err2str(rerr));
        pl->drain_due = 1;
        pl->status_at = 0; /* report the new partitions at once */
        fd_metrics_up(pl->metrics, FD_COMP_KAFKA); /* the group answered */
        fd_metrics_assigned(pl->metrics, pl->owned, pl->owned_cnt);
        FD_INFO("pipeline", "assigned %zu partition pair(s) of %d",
                pl->owned_cnt, (int)pl->nparts);
}

/* Stops consuming after a refused commit: keep the assignment aside and
 * wait for the group to revoke it (a zombie's session has expired). */
static void fence(fd_pipeline *pl)
{
        drop_buffers(pl);
        pl->owned_cnt = 0;
        if (!pl->fenced_list &&
            rd_kafka_assignment(pl->consumer, &pl->fenced_list) != 0)
                pl->fenced_list = NULL;
        pl->fenced_since = fd_mono_ms();
        rd_kafka_assign(pl->consumer, NULL);
        fd_metrics_fenced(pl->metrics);
        fd_metrics_assigned(pl->metrics, NULL, 0);
}

/* If no rebalance followed a fencing within FD_FENCE_REJOIN_MS, the group
 * still sees us as the owner: whatever moved the epochs (another process
 * outside the group, Redis losing its data) is not a live owner, so claim
 * the partitions again from the offsets in Redis. */
static void unfence_if_due(fd_pipeline *pl)
{
        if (!pl->fenced_list ||
            fd_mono_ms() - pl->fenced_since < FD_FENCE_REJOIN_MS)
                return;
        FD_WARN("pipeline",
                "no rebalance came %d s after our commit was refused; the "
                "group still assigns us these partitions, so claiming them "
                "again from the offsets stored in redis",
                FD_FENCE_REJOIN_MS / 1000);
        assign_from_store(pl, pl->fenced_list);
        rd_kafka_topic_partition_list_destroy(pl->fenced_list);
        pl->fenced_list = NULL;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *list, void *opaque)
{
        fd_pipeline *pl = ((fd_kafka_ctx *)opaque)->owner;
        /* Redis answers the batch in flight first; what follows drops the
         * rest unwritten. */
        if (fd_processor_inflight(pl->proc) &&
            fd_processor_finish(pl->proc) == FD_STORE_OK)
                written(pl, pl->inflight, &pl->inflight_cnt);
        if (pl->fenced_list) {
                rd_kafka_topic_partition_list_destroy(pl->fenced_list);
                pl->fenced_list = NULL;
        }
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                assign_from_store(pl, list);
                return;
        }
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
                FD_WARN("pipeline", "rebalance error: %s; leaving partitions",
                        rd_kafka_err2str(err));
        else if (!pl->need_reset) /* what is in flight is the new owner's
                                   * to produce unless confirmed now */
                fd_outbox_settle(pl->outbox, pl->store, pl->producer, pl->owned,
                                 pl->epochs, pl->owned_cnt, FD_SETTLE_MS);
        commit_to_kafka(pl, 1); /* what this owner wrote */
        drop_buffers(pl);
        pl->owned_cnt = 0;
        rd_kafka_assign(rk, NULL);
        fd_metrics_assigned(pl->metrics, NULL, 0);
        FD_INFO("pipeline", "partitions revoked");
}

/* After a Redis failure or a fencing: reconnect, then re-seek everything
 * we still own to the offsets Redis holds. */
static void reset_from_store(fd_pipeline *pl)
{
        rd_kafka_topic_partition_list_t *list = NULL;
        pl->need_reset = 0;
        if (reconnect_store(pl) != 0)
                return;
        if (rd_kafka_assignment(pl->consumer, &list) != 0 || !list)
                return;
        if (list->cnt)
                assign_from_store(pl, list);
        rd_kafka_topic_partition_list_destroy(list);
}

/* The high watermark librdkafka stored for queue q (topic index t,
 * partition p) from the last fetch response, no request to the broker; -1
 * when there is none, or q does not know its position yet. */
static int64_t stored_high(fd_pipeline *pl, const fd_queue *q, int t, int32_t p)
{
        int64_t lo, hi;
        if (q->primed && q->next >= 0 &&
            rd_kafka_get_watermark_offsets(pl->consumer, topic_name(pl, t), p,
                                           &lo,
                                           &hi) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            hi >= 0)
                return hi;
        return -1;
}

/* Sets q->ended, once per fill_batch, for empty queue q of topic index t
 * and partition p: whether it is known to be at its end. That is what the
 * high watermark librdkafka stored from the last fetch response says (no
 * request to the broker): the lag is known to be 0 when q received up to
 * it, and messages are on their way when it is past what q received (a
 * partition-end event seen before them does not count). Without a stored
 * watermark, the end-of-partition event decides. */
static void queue_ended(fd_pipeline *pl, fd_queue *q, int t, int32_t p)
{
        if (q->ended_fill == pl->fill_cnt)
                return;
        q->ended_fill = pl->fill_cnt;
        int64_t hi = stored_high(pl, q, t, p);
        q->ended = hi >= 0 ? q->next >= hi : q->at_eof;
}

/* Whether the merge must wait for empty queue q: until its first message or
 * end-of-partition after assignment (its position is unknown: Kafka Streams
 * waits while lag is unknown), bounded by FD_PRIME_WAIT_MS; then, while it is
 * not known to be at its end, up to processing.max_task_idle_ms from when
 * the merge started waiting for it. */
static int must_wait(fd_pipeline *pl, fd_queue *q, int64_t now)
{
        if (q->ended)
                return 0;
        if (!q->wait_since)
                q->wait_since = now;
        if (!q->primed) {
                if (now - q->wait_since < FD_PRIME_WAIT_MS)
                        return 1;
                FD_WARN("pipeline",
                        "an input partition has sent neither data nor its "
                        "end for %d s; merging without it",
                        FD_PRIME_WAIT_MS / 1000);
                q->primed = 1;
                return 0;
        }
        return now - q->wait_since < pl->conf->max_task_idle_ms;
}

/* Whether the head of q may be applied (processing.allowed_lateness_ms):
 * its partition delivered an event at least the lateness later, or was
 * quiet for processing.lateness_idle_ms, or its buffer is full. */
static int releasable(const fd_pipeline *pl, const fd_queue *q,
                      const fd_msg *head, int64_t now)
{
        int64_t late = pl->conf->allowed_lateness_ms;

        return late <= 0 || head->ts == INT64_MIN ||
               head->ts <= q->max_ts - late ||
               now - q->last_push >= pl->conf->lateness_idle_ms ||
               queue_len(q) >= (size_t)pl->conf->queue_max_events;
}

static int batch_add(fd_pipeline *pl, fd_queue *q)
{
        if (pl->batch_cnt == pl->batch_cap) {
                size_t cap = pl->batch_cap ? pl->batch_cap * 2 : 1024;
                fd_msg *b = realloc(pl->batch, cap * sizeof(*b));
                if (!b)
                        return -1;
                pl->batch = b;
                pl->batch_cap = cap;
        }
        int64_t arrived = q->arrived[slot_of(q, q->head)];
        if (!pl->batch_cnt || arrived < pl->batch_oldest)
                pl->batch_oldest = arrived;
        queue_pop(q, &pl->batch[pl->batch_cnt++]);
        return 0;
}

/* The events of the owned partitions not applied yet: each one's stored
 * high watermark minus the next offset funneld will receive, plus what its
 * queue holds. A partition without a stored watermark counts what its
 * queue holds. */
static int64_t owned_lag(fd_pipeline *pl)
{
        int64_t lag = 0;
        for (size_t i = 0; i < pl->owned_cnt; i++)
                for (int t = 0; t < pl->ntopics; t++) {
                        int32_t p = pl->owned[i];
                        fd_queue *q = &pl->queues[t][p];
                        int64_t hi = stored_high(pl, q, t, p);
                        lag += (int64_t)queue_len(q);
                        if (hi > q->next)
                                lag += hi - q->next;
                }
        return lag;
}

/* The batch's limit: processing.batch.max_events, or batch.catchup_events
 * while the owned partitions lag by at least four times that (a backlog
 * being worked off, where larger transactions mean fewer Redis commands
 * per event; in live flow a batch that fills up after a hiccup would only
 * make the tail of the latency longer). Decided once per fill_batch, when
 * the batch reaches max_events. */
static size_t batch_limit(fd_pipeline *pl)
{
        size_t base = (size_t)pl->conf->batch_max_events;
        size_t big = (size_t)pl->conf->batch_catchup_events;
        if (big <= base || pl->batch_cnt < base)
                return base;
        if (pl->catchup_fill != pl->fill_cnt) {
                pl->catchup_fill = pl->fill_cnt;
                pl->catching_up = owned_lag(pl) >= 4 * (int64_t)big;
        }
        return pl->catching_up ? big : base;
}

/* The merge's view of queue q (topic index t, partition p) during a fill:
 * a head it may take, empty, or a reason to wait (a partition that may
 * still deliver earlier events). */
enum { MERGE_READY, MERGE_EMPTY, MERGE_WAIT };

static int merge_state(fd_pipeline *pl, fd_queue *q, int t, int32_t p,
                       int64_t now)
{
        fd_msg *head = queue_peek(q);
        if (!head) {
                queue_ended(pl, q, t, p);
                return must_wait(pl, q, now) ? MERGE_WAIT : MERGE_EMPTY;
        }
        return releasable(pl, q, head, now) ? MERGE_READY : MERGE_WAIT;
}

/* m's state (merge_state), and its head's time and topic when ready. */
static int merge_read(fd_pipeline *pl, merge_head *m, int64_t now)
{
        m->state = merge_state(pl, m->q, m->t, m->p, now);
        if (m->state == MERGE_READY) {
                const fd_msg *head = queue_peek(m->q);
                m->ts = head->ts;
                m->topic = (int)head->topic;
        }
        return m->state;
}

/* Sets pl->merge to the owned queues' states; how many make the merge
 * wait, or -1 out of memory. */
static int merge_scan(fd_pipeline *pl, int64_t now)
{
        size_t n = pl->owned_cnt * (size_t)pl->ntopics, k = 0;
        int waits = 0;
        if (n > pl->merge_cap) {
                merge_head *m = realloc(pl->merge, n * sizeof(*m));
                if (!m)
                        return -1;
                pl->merge = m;
                pl->merge_cap = n;
        }
        for (size_t i = 0; i < pl->owned_cnt; i++)
                for (int t = 0; t < pl->ntopics; t++, k++) {
                        merge_head *m = &pl->merge[k];
                        m->q = &pl->queues[t][pl->owned[i]];
                        m->t = t;
                        m->p = pl->owned[i];
                        waits += merge_read(pl, m, now) == MERGE_WAIT;
                }
        pl->merge_cnt = n;
        return waits;
}

/* Fills the batch up to its limit (batch_limit) from the merge: the head
 * earliest in event time first; equal times: lead events first (touches
 * before the stage change they led to), then lower partition. Nothing
 * while a queue makes the merge wait (merge_state), or while an empty
 * queue at its end is passed over and the head was buffered less than
 * processing.merge_grace_ms ago: "at its end" is what the last fetch said
 * (queue_ended), and an earlier event of that queue may still be on its
 * way, from a producer lingering over its batch or in the fetch response
 * librdkafka is still handing over partition by partition (run AF in
 * docs/PERFORMANCE-LOG.md counts what the grace keeps in order). Within
 * a fill the time is fixed and nothing arrives, so only the queue taken from
 * changes: the states are read once (merge_scan) and then that queue's
 * again, rather than every queue's per message. */
static void fill_batch(fd_pipeline *pl)
{
        int64_t now = fd_mono_ms();
        int64_t grace = pl->conf->max_task_idle_ms < pl->conf->merge_grace_ms
                                ? pl->conf->max_task_idle_ms
                                : pl->conf->merge_grace_ms;
        int passes_end = 0; /* an empty queue at its end is passed over */

        pl->fill_cnt++;
        if (merge_scan(pl, now) == 0) {
                for (size_t k = 0; k < pl->merge_cnt; k++)
                        if (pl->merge[k].state == MERGE_EMPTY)
                                passes_end |= pl->merge[k].q->ended;
                while (pl->batch_cnt < batch_limit(pl)) {
                        merge_head *best = NULL;
                        for (size_t k = 0; k < pl->merge_cnt; k++) {
                                merge_head *m = &pl->merge[k];
                                if (m->state == MERGE_READY &&
                                    (!best || m->ts < best->ts ||
                                     (m->ts == best->ts &&
                                      m->topic < best->topic)))
                                        best = m;
                        }
                        fd_queue *q = best ? best->q : NULL;
                        if (!q ||
                            (passes_end &&
                             now - q->arrived[slot_of(q, q->head)] < grace) ||
                            batch_add(pl, q) != 0)
                                break;
                        int state = merge_read(pl, best, now);
                        if (state == MERGE_WAIT)
                                break;
                        if (state == MERGE_EMPTY)
                                passes_end |= q->ended;
                }
        }
        for (size_t i = 0; i < pl->owned_cnt; i++)
                for (int t = 0; t < pl->ntopics; t++) {
                        fd_queue *qq = &pl->queues[t][pl->owned[i]];
                        if (qq->paused &&
                            queue_len(qq) <
                                    (size_t)pl->conf->queue_max_events / 4)
                                set_paused(pl, t, pl->owned[i], 0);
                }
}

/* Notes the offsets of the batch msgs[0..n) written to Redis: the next
 * offset per partition (pl->next), committed to Kafka by commit_to_kafka. */
static void note_written(fd_pipeline *pl, const fd_msg *msgs, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                int t = (int)msgs[i].topic - 1;
                int32_t p = msgs[i].partition;
                if (t >= 0 && t < pl->ntopics && p >= 0 && p < pl->nparts &&
                    msgs[i].offset + 1 > pl->next[t][p]) {
                        pl->next[t][p] = msgs[i].offset + 1;
                        pl->kcommit_due = 1;
                }
        }
}

/* Commits the next offsets of the owned partitions that moved since the
 * last commit to Kafka, asynchronously, for lag monitoring tools and for
 * check_missing_offsets; funneld itself only trusts the offsets in Redis.
 * At most once per processing.kafka_commit_ms unless now is set (before
 * the partitions are revoked, at the end). */
static void commit_to_kafka(fd_pipeline *pl, int now)
{
        int64_t ms = fd_mono_ms();
        if (!pl->kcommit_due ||
            (!now && ms - pl->kcommit_at < pl->conf->kafka_commit_ms))
                return;
        rd_kafka_topic_partition_list_t *l =
                rd_kafka_topic_partition_list_new(8);
        for (size_t i = 0; i < pl->owned_cnt; i++) {
                int32_t p = pl->owned[i];
                for (int t = 0; t < pl->ntopics; t++)
                        if (pl->next[t][p] > pl->ksent[t][p]) {
                                rd_kafka_topic_partition_list_add(
                                        l, topic_name(pl, t), p)
                                        ->offset = pl->next[t][p];
                                pl->ksent[t][p] = pl->next[t][p];
                        }
        }
        if (l->cnt)
                rd_kafka_commit(pl->consumer, l, 1);
        rd_kafka_topic_partition_list_destroy(l);
        pl->kcommit_due = 0;
        pl->kcommit_at = ms;
}

/* Tells the metrics what became of a committed slice of the batch. */
static void count_batch(fd_pipeline *pl, const fd_msg *msgs, size_t n)
{
        int64_t in[FD_IN_TOPICS][FD_OUTCOME__COUNT] = {{0}};
        fd_age_counts ages = {{0}, 0};
        uint32_t now = (uint32_t)fd_mono_ms();
        for (size_t i = 0; i < n; i++) {
                fd_age_add(&ages, now - msgs[i].produced);
                fd_outcome o = msgs[i].ev.kind == FD_EV_NONE ? FD_OUTCOME_DLQ
                               : msgs[i].duplicate ? FD_OUTCOME_DUPLICATE
                                                   : FD_OUTCOME_APPLIED;
                in[msgs[i].topic - 1][o]++;
                if (o == FD_OUTCOME_DLQ)
                        fd_metrics_count_dlq(pl->metrics, msgs[i].err);
        }
        for (int t = 0; t < FD_IN_TOPICS; t++)
                for (int o = 0; o < FD_OUTCOME__COUNT; o++)
                        if (in[t][o])
                                fd_metrics_count_in(pl->metrics, t,
                                                    (fd_outcome)o, in[t][o]);
        fd_metrics_batch(pl->metrics, n,
                         fd_processor_stats(pl->proc)->last_commit_s);
        fd_metrics_event_ages(pl->metrics, &ages);
        fd_metrics_up(pl->metrics, FD_COMP_REDIS);
}

/* A refused commit or outbox trim: another instance owns the partitions. */
static void warn_fenced(const char *what)
{
        FD_WARN("pipeline",
                "another instance took over our partitions (owner epoch "
                "moved); %s and waiting for the group to rebalance",
                what);
}

/* With processing.allowed_lateness_ms, a partition's next offset to store
 * is not after its last applied message: lower offsets may still wait in
 * the reorder buffer. Sets, for each queue with messages in the batch, the
 * lowest offset not applied (applied ones above it are replayed after a
 * crash and dropped by their dedupe markers). */
static void set_next_offsets(fd_pipeline *pl)
{
        int64_t *next = pl->next_store; /* [topic][partition], -2: none */
        size_t n = (size_t)pl->ntopics * (size_t)pl->nparts;

        for (size_t i = 0; i < n; i++)
                next[i] = -2;
        for (size_t i = 0; i < pl->batch_cnt; i++) {
                const fd_msg *m = &pl->batch[i];
                size_t at = (size_t)(m->topic - 1) * (size_t)pl->nparts +
                            (size_t)m->partition;
                fd_queue *q = queue_of(pl, (int)m->topic - 1, m->partition);

                if (next[at] != -2)
                        continue;
                next[at] = q->max_popped + 1;
                for (size_t j = q->head; j < q->tail; j++)
                        if (q->items[slot_of(q, j)].offset < next[at])
                                next[at] = q->items[slot_of(q, j)].offset;
        }
        fd_processor_clear_next_offsets(pl->proc);
        for (int t = 0; t < pl->ntopics; t++)
                for (int32_t p = 0; p < pl->nparts; p++)
                        if (next[(size_t)t * (size_t)pl->nparts + (size_t)p] !=
                            -2)
                                fd_processor_set_next_offset(
                                        pl->proc, (fd_event_kind)(t + 1), p,
                                        next[(size_t)t * (size_t)pl->nparts +
                                             (size_t)p]);
}

/* Handles what fd_processor_run() returned: 0 for OK, else 1 after
 * fencing, stopping or scheduling the retry. */
static int batch_failed(fd_pipeline *pl, int rc)
{
        if (rc == FD_STORE_FENCED) {
                warn_fenced("dropping the batch unwritten");
                fence(pl);
                return 1;
        }
        if (rc == FD_STORE_PARTIAL) {
                FD_ERROR("pipeline", "stopping: a batch was written only in "
                                     "part, going on would lose more");
                pl->fatal = 1;
                if (pl->stop)
                        *pl->stop = 1;
                return 1;
        }
        if (rc != FD_STORE_OK) {
                pl->retry_ms = pl->retry_ms ? pl->retry_ms * 2 : 100;
                if (pl->retry_ms > 5000)
                        pl->retry_ms = 5000;
                pl->retry_at = fd_mono_ms() + pl->retry_ms;
                FD_WARN("pipeline",
                        "writing a batch to redis failed; it will be redone "
                        "from the offsets stored in redis in %d ms",
                        pl->retry_ms);
                fd_metrics_down(pl->metrics, FD_COMP_REDIS,
                                fd_store_error(pl->store));
                pl->need_reset = 1;
                return 1;
        }
        pl->retry_ms = 0;
        return 0;
}

/* A commit may have added outbox entries: drain them. */
static void outbox_due(fd_pipeline *pl)
{
        pl->drain_due = 1;
        fd_outbox_due(pl->outbox);
}

/* With a tenant on the wall clock (cold.clock = wall), checks the owned
 * partitions' cold deadlines about once a second while no events come
 * (a batch checks them too). */
static void check_wall_clock(fd_pipeline *pl)
{
        int64_t now, alerts;

        if (pl->batch_cnt || pl->need_reset || !pl->owned_cnt ||
            !fd_processor_has_wall_clock(pl->proc))
                return;
        now = fd_mono_ms();
        if (now - pl->wall_checked < 1000)
                return;
        pl->wall_checked = now;
        if (flush_held(pl))
                return;
        alerts = fd_processor_stats(pl->proc)->alerts;
        int held_done;
        if (!batch_failed(pl, fd_processor_run(pl->proc, NULL, 0, pl->owned,
                                               pl->epochs, pl->owned_cnt,
                                               &held_done)) &&
            fd_processor_stats(pl->proc)->alerts != alerts)
                outbox_due(pl);
}

/* A replay checks about once a second whether it has caught up; when it
 * switched the readers, it publishes derived events from then on. */
static void check_replay(fd_pipeline *pl)
{
        const char *names[FD_IN_TOPICS];
        int64_t now;

        if (!pl->replay || fd_replay_switched(pl->replay))
                return;
        now = fd_mono_ms();
        if (now - pl->replay_checked < 1000)
                return;
        pl->replay_checked = now;
        if (flush_held(pl))
                return;
        for (int t = 0; t < pl->ntopics; t++)
                names[t] = topic_name(pl, t);
        if (fd_replay_check(pl->replay, pl->consumer, names, pl->ntopics,
                            pl->nparts) == 1)
                fd_processor_set_quiet(pl->proc, 0);
}

/* The messages msgs[0..n) are written to Redis: counted, noted for the
 * commit to Kafka (for lag tools) and freed. */
static void written(fd_pipeline *pl, fd_msg *msgs, size_t *n)
{
        count_batch(pl, msgs, *n);
        note_written(pl, msgs, *n); /* committed by the main loop */
        for (size_t i = 0; i < *n; i++)
                fd_msg_clear(&msgs[i]);
        *n = 0;
        outbox_due(pl);
}

/* Moves *b's messages to *a, which is empty; *b keeps *a's memory. */
static void rotate(fd_msg **a, size_t *a_cnt, size_t *a_cap, fd_msg **b,
                   size_t *b_cnt, size_t *b_cap)
{
        fd_msg *t = *a;
        size_t cap = *a_cap;
        *a = *b;
        *a_cap = *b_cap;
        *a_cnt = *b_cnt;
        *b = t;
        *b_cap = cap;
        *b_cnt = 0;
}

/* Applies the batch; the processor writes it, or holds it to write while
 * it applies the next one (processing.overlap). */
static void process_batch(fd_pipeline *pl)
{
        int held_done = 0;
        if (settle(pl))
                return;
        if (pl->drain_due) {
                drain_outboxes(pl); /* Redis is free until the reads go out */
                if (pl->need_reset || !pl->batch_cnt)
                        return;
        }
        if (pl->conf->allowed_lateness_ms > 0)
                set_next_offsets(pl);
        int rc = fd_processor_run(pl->proc, pl->batch, pl->batch_cnt, pl->owned,
                                  pl->epochs, pl->owned_cnt, &held_done);
        if (held_done)
                written(pl, pl->held, &pl->held_cnt);
        if (batch_failed(pl, rc))
                return;
        if (fd_processor_inflight(pl->proc)) /* the held one went out */
                rotate(&pl->inflight, &pl->inflight_cnt, &pl->inflight_cap,
                       &pl->held, &pl->held_cnt, &pl->held_cap);
        if (!fd_processor_holding(pl->proc)) {
                written(pl, pl->batch, &pl->batch_cnt);
                return;
        }
        rotate(&pl->held, &pl->held_cnt, &pl->held_cap, &pl->batch,
               &pl->batch_cnt, &pl->batch_cap);
}

/* Reads the answer of the batch in flight, if any. 1 on failure (handled
 * as a failed batch: the held batch is dropped with it). */
static int settle(fd_pipeline *pl)
{
        if (!fd_processor_inflight(pl->proc))
                return 0;
        if (batch_failed(pl, fd_processor_finish(pl->proc)))
                return 1;
        written(pl, pl->inflight, &pl->inflight_cnt);
        return 0;
}

/* Writes the batch the processor holds, if any: before anything else uses
 * Redis, and when no next batch is ready to go with it. 1 on failure
 * (handled as a failed batch). */
static int flush_held(fd_pipeline *pl)
{
        if (settle(pl))
                return 1;
        if (!fd_processor_holding(pl->proc))
                return 0;
        if (batch_failed(pl, fd_processor_flush(pl->proc, pl->owned, pl->epochs,
                                                pl->owned_cnt)))
                return 1;
        written(pl, pl->held, &pl->held_cnt);
        return 0;
}

/* Moves the outboxes of the owned partitions on (fd_outbox_pump): trims
 * the rounds Kafka confirmed and produces the next ones, without waiting
 * for deliveries. drain_due stays set while any round is in flight. */
static void drain_outboxes(fd_pipeline *pl)
{
        int pending = 0;
        if (fd_processor_inflight(pl->proc))
                return; /* due still: after its answer (process_batch) */
        for (size_t i = 0; i < pl->owned_cnt && !pl->need_reset; i++) {
                long rc = fd_outbox_pump(pl->outbox, pl->store, pl->producer,
                                         pl->owned[i], pl->epochs[i]);
                if (rc == FD_OUTBOX_REDIS_FAILED) {
                        fd_metrics_down(pl->metrics, FD_COMP_REDIS,
                                        fd_store_error(pl->store));
                        /* Without a reset the dead connection would only be
                         * replaced when the next input batch fails: on a
                         * quiet stream the outbox would wait forever. */
                        FD_WARN("pipeline",
                                "redis failed while draining the outbox of "
                                "partition %d; reconnecting (the entries stay "
                                "in redis and are produced again)",
                                (int)pl->owned[i]);
                        pl->need_reset = 1;
                }
                if (rc == FD_OUTBOX_FENCED) {
                        warn_fenced("leaving the outbox to the new owner");
                        fence(pl);
                        pl->drain_due = 0;
                        return;
                }
                pending |= fd_outbox_pending(pl->outbox, pl->owned[i]);
        }
        pl->drain_due = pending;
}

/* At the end: drains the outboxes until they are empty and confirmed, for
 * up to FD_SETTLE_MS. */
static void drain_outboxes_to_end(fd_pipeline *pl)
{
        int64_t until = fd_mono_ms() + FD_SETTLE_MS;
        while (pl->drain_due && !pl->need_reset && fd_mono_ms() < until) {
                drain_outboxes(pl);
                if (pl->drain_due)
                        rd_kafka_poll(pl->producer, 10);
        }
}

/* Polls the consumer for up to max_wait_ms and queues what arrives. */
static void poll_consumer(fd_pipeline *pl, int max_wait_ms)
{
        int taken = 0;
        int64_t now = 0, wall_now = 0;
        rd_kafka_message_t *m;
        while (taken < 10000 &&
               (m = rd_kafka_consumer_poll(pl->consumer,
                                           taken ? 0 : max_wait_ms)) != NULL) {
                /* The clocks are read once per 64 messages, not for each:
                 * the times are early by well under a millisecond. */
                if (taken % 64 == 0) {
                        now = fd_mono_ms();
                        wall_now = fd_wall_ms();
                }
                take_message(pl, m, now, wall_now);
                rd_kafka_message_destroy(m);
                taken++;
        }
}

/* Every FD_STATUS_MS: the lag of each owned partition (its high watermark,
 * as last fetched, minus the next offset in Redis) and outbox depth go to
 * the metrics, and the watermarks to P:watermarks:G for funnelctl status. */
static void report_status(fd_pipeline *pl)
{
        int64_t now = fd_mono_ms();
        fd_resp r = {0};
        redisReply **replies = NULL;
        int rc = 0;

        if (now - pl->status_at < FD_STATUS_MS)
                return;
        pl->status_at = now;
        if (!pl->owned_cnt || pl->need_reset || settle(pl))
                return;
        const char *prefix = fd_store_prefix(pl->store);
        const char *group = fd_store_group(pl->store);
        rc |= fd_resp_cmd(&r, 4 + 2 * pl->ntopics * (int)pl->owned_cnt) ||
              fd_resp_str(&r, "HSET") ||
              fd_resp_fmt(&r, "%s:watermarks:%s", prefix, group) ||
              fd_resp_str(&r, "updated_at") || fd_resp_i64(&r, fd_wall_ms());
        for (size_t i = 0; i < pl->owned_cnt; i++) {
                int32_t p = pl->owned[i];
                for (int t = 0; t < pl->ntopics; t++) {
                        const char *topic = topic_name(pl, t);
                        int64_t lo = -1, hi = -1, next = pl->next[t][p];
                        if (rd_kafka_get_watermark_offsets(pl->consumer, topic,
                                                           p, &lo, &hi) ||
                            hi < 0)
                                hi = -1;
                        if (next < 0 && lo >= 0)
                                next = lo; /* from the beginning */
                        fd_metrics_set_lag(pl->metrics, t, p,
                                           hi >= 0 && next >= 0 ? hi - next
                                                                : -1);
                        rc |= fd_resp_fmt(&r, "%s:%d", topic, (int)p) ||
                              fd_resp_i64(&r, hi);
                }
        }
        for (size_t i = 0; i < pl->owned_cnt; i++)
                rc |= fd_resp_cmd(&r, 2) || fd_resp_str(&r, "LLEN") ||
                      fd_resp_fmt(&r, "%s:outbox:%s:%d", prefix, group,
                                  (int)pl->owned[i]);
        replies = calloc(1 + pl->owned_cnt, sizeof(*replies));
        if (!rc && replies &&
            fd_store_pipeline(pl->store, &r, replies) == FD_STORE_OK) {
                for (size_t i = 0; i <= pl->owned_cnt; i++) {
                        if (i > 0 && replies[i]->type == REDIS_REPLY_INTEGER)
                                fd_metrics_set_outbox(pl->metrics,
                                                      pl->owned[i - 1],
                                                      replies[i]->integer);
                        freeReplyObject(replies[i]);
                }
        } else if (!rc && replies) {
                fd_metrics_down(pl->metrics, FD_COMP_REDIS,
                                fd_store_error(pl->store));
                pl->need_reset = 1;
        }
        free(replies);
        fd_resp_free(&r);
}

void fd_pipeline_set_reload(fd_pipeline *pl, volatile sig_atomic_t *flag,
                            const char *path)
{
        pl->reload = flag;
        pl->config_path = path;
}

/* The config the processor uses now. */
static const fd_config *live_config(const fd_pipeline *pl)
{
        return pl->reloaded_cnt ? pl->reloaded[pl->reloaded_cnt - 1] : pl->conf;
}

/* SIGHUP: reads the config file again and hands it to the processor if only
 * live-changeable settings differ. Kafka, Redis and processing settings
 * keep coming from pl->conf, which the new config equals in those. */
static void reload_config(fd_pipeline *pl)
{
        char err[2048], diff[1024];
        const fd_config *old = live_config(pl);
        fd_config **grown;
        fd_config *conf;

        *pl->reload = 0;
        if (!pl->config_path) {
                FD_WARN("pipeline", "SIGHUP ignored: funneld runs on built-in "
                                    "defaults (no -c FILE to read again)");
                return;
        }
        conf = fd_config_load(pl->config_path, err, sizeof(err));
        if (!conf) {
                FD_ERROR("pipeline",
                         "reload of %s failed, the running configuration "
                         "stays: %s",
                         pl->config_path, err);
                return;
        }
        if (fd_config_restart_diff(pl->conf, conf, diff, sizeof(diff))) {
                FD_ERROR("pipeline",
                         "reload of %s refused, the running configuration "
                         "stays: %s changed, which only takes effect on a "
                         "restart; restart funneld (SIGTERM, then start) or "
                         "undo those changes",
                         pl->config_path, diff);
                fd_config_destroy(conf);
                return;
        }
        grown = realloc(pl->reloaded,
                        (pl->reloaded_cnt + 1) * sizeof(*pl->reloaded));
        if (!grown) {
                fd_config_destroy(conf);
                return;
        }
        pl->reloaded = grown;
        pl->reloaded[pl->reloaded_cnt++] = conf;
        if (conf->log_level && old->log_level &&
            strcmp(conf->log_level, old->log_level) != 0 &&
            fd_log_level_parse(conf->log_level) >= 0)
                fd_log_threshold =
                        (fd_log_level)fd_log_level_parse(conf->log_level);
        fd_processor_set_config(pl->proc, conf);
        FD_INFO("pipeline",
                "reloaded %s: scoring rules and tenant settings (%zu tenant "
                "override(s)) apply from the next batch",
                pl->config_path, conf->tenant_cnt);
}

int fd_pipeline_run(fd_pipeline *pl, volatile sig_atomic_t *stop)
{
        pl->stop = stop;
        while (!*stop) {
                fd_metrics_heartbeat(pl->metrics);
                /* Short waits while a batch grows or deliveries are due;
                 * none while a batch is held (it waits to go out). */
                poll_consumer(pl, fd_processor_holding(pl->proc)   ? 0
                                  : pl->batch_cnt || pl->drain_due ? 5
                                                                   : 20);
                if (pl->need_reset) {
                        if (fd_mono_ms() < pl->retry_at)
                                continue; /* the pause after a failure */
                        reset_from_store(pl);
                }
                unfence_if_due(pl);
                fill_batch(pl);
                /* Let a small batch grow until its oldest message has been
                 * buffered batch.max_ms: the merge's waits count too. */
                if (pl->batch_cnt &&
                    (pl->batch_cnt >= batch_limit(pl) ||
                     fd_mono_ms() - pl->batch_oldest >= pl->conf->batch_max_ms))
                        process_batch(pl); /* and writes a held one */
                else
                        flush_held(pl); /* nothing to go with it */
                check_wall_clock(pl);
                check_replay(pl);
                commit_to_kafka(pl, 0); /* what was written, per interval */
                if (pl->drain_due)
                        drain_outboxes(pl);
                rd_kafka_poll(pl->producer, 0);
                report_status(pl);
                if (pl->reload && *pl->reload) {
                        if (pl->batch_cnt && !pl->need_reset)
                                process_batch(pl); /* under the old rules */
                        if (!flush_held(pl))
                                reload_config(pl);
                }
        }
        fd_metrics_stopping(pl->metrics);
        if (pl->batch_cnt && !pl->need_reset)
                process_batch(pl);
        flush_held(pl);
        drain_outboxes_to_end(pl);
        commit_to_kafka(pl, 1); /* completed by rd_kafka_consumer_close */
        return pl->fatal ? -1 : 0;
}

/* Returns a pipeline owned by the caller (fd_pipeline_destroy). */
fd_pipeline *fd_pipeline_new(const fd_config *conf, fd_codec *codec,
                             fd_store *store, fd_metrics *metrics, char *errstr,
                             size_t errstr_size)
{
        fd_pipeline *pl = calloc(1, sizeof(*pl));
        rd_kafka_topic_partition_list_t *topics;
        rd_kafka_resp_err_t err;

        if (!pl)
                return NULL;
        pl->conf = conf;
        pl->codec = codec;
        pl->store = store;
        pl->metrics = metrics;
        pl->kctx.metrics = metrics;
        pl->kctx.owner = pl;
        pl->proc = fd_processor_new(conf, codec, store);
        pl->consumer = fd_kafka_consumer_new(conf, rebalance_cb, &pl->kctx,
                                             errstr, errstr_size);
        if (!pl->proc || !pl->consumer)
                goto fail;
        int replay_failed;
        pl->replay =
                fd_replay_new(conf, store, errstr, errstr_size, &replay_failed);
        if (replay_failed)
                goto fail;
        fd_processor_set_quiet(pl->proc,
                               pl->replay && !fd_replay_switched(pl->replay));
        pl->producer =
                fd_kafka_producer_new(conf, &pl->kctx, errstr, errstr_size);
        if (!pl->producer)
                goto fail;
        int spend = 0;
        pl->nparts = fd_kafka_check_copartitioned(pl->consumer, conf, 10000,
                                                  &spend, errstr, errstr_size);
        if (pl->nparts <= 0)
                goto fail;
        /* the broker answered: now look the output topics up */
        const char *outs[4] = {conf->topic_promotions, conf->topic_attribution,
                               conf->topic_alerts, conf->topic_dlq};
        fd_kafka_topics_warm(pl->producer, outs, 4, pl->out_topics);
        pl->ntopics = spend ? 3 : 2;
        const char *names[FD_IN_TOPICS] = {NULL};
        for (int t = 0; t < pl->ntopics; t++)
                names[t] = topic_name(pl, t);
        fd_metrics_set_topics(metrics, names);
        pl->owned = calloc((size_t)pl->nparts, sizeof(int32_t));
        pl->epochs = calloc((size_t)pl->nparts, sizeof(int64_t));
        pl->next_store =
                calloc((size_t)pl->nparts * FD_IN_TOPICS, sizeof(int64_t));
        pl->outbox = fd_outbox_new(pl->nparts);
        pl->kctx.outbox = pl->outbox;
        pl->kcommit_at = fd_mono_ms() - conf->kafka_commit_ms; /* first: now */
        if (!pl->owned || !pl->epochs || !pl->next_store || !pl->outbox)
                goto fail;
        topics = rd_kafka_topic_partition_list_new(pl->ntopics);
        for (int t = 0; t < pl->ntopics; t++) {
                pl->queues[t] = calloc((size_t)pl->nparts, sizeof(fd_queue));
                pl->next[t] = malloc((size_t)pl->nparts * sizeof(int64_t));
                pl->ksent[t] = malloc((size_t)pl->nparts * sizeof(int64_t));
                if (!pl->queues[t] || !pl->next[t] || !pl->ksent[t]) {
                        rd_kafka_topic_partition_list_destroy(topics);
                        goto fail;
                }
                for (int32_t p = 0; p < pl->nparts; p++) {
                        pl->next[t][p] = pl->ksent[t][p] = -1;
                        queue_clear(&pl->queues[t][p]);
                }
                rd_kafka_topic_partition_list_add(topics, names[t],
                                                  RD_KAFKA_PARTITION_UA);
        }
        err = rd_kafka_subscribe(pl->consumer, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        if (err) {
                snprintf(errstr, errstr_size,
                         "cannot subscribe to the input topics (%s, ...): %s",
                         conf->topic_lead, rd_kafka_err2str(err));
                goto fail;
        }
        return pl;
fail:
        fd_pipeline_destroy(pl);
        return NULL;
}

void fd_pipeline_destroy(fd_pipeline *pl)
{
        if (!pl)
                return;
        if (pl->consumer) {
                rd_kafka_consumer_close(pl->consumer);
                rd_kafka_destroy(pl->consumer);
        }
        if (pl->fenced_list)
                rd_kafka_topic_partition_list_destroy(pl->fenced_list);
        if (pl->ntopics && pl->queues[pl->ntopics - 1])
                drop_buffers(pl);
        for (int t = 0; t < FD_IN_TOPICS; t++) {
                for (int32_t p = 0; pl->queues[t] && p < pl->nparts; p++) {
                        free(pl->queues[t][p].items);
                        free(pl->queues[t][p].arrived);
                        fd_slab_free(pl->queues[t][p].slab);
                }
                free(pl->queues[t]);
        }
        if (pl->producer) {
                fd_kafka_topics_release(pl->out_topics, 4);
                rd_kafka_flush(pl->producer, 10000);
                rd_kafka_destroy(pl->producer);
        }
        fd_outbox_free(pl->outbox); /* after the producer's last report */
        fd_processor_destroy(pl->proc);
        fd_replay_destroy(pl->replay);
        free(pl->owned);
        free(pl->epochs);
        free(pl->next_store);
        for (int t = 0; t < FD_IN_TOPICS; t++) {
                free(pl->next[t]);
                free(pl->ksent[t]);
        }
        for (size_t i = 0; i < pl->reloaded_cnt; i++)
                fd_config_destroy(pl->reloaded[i]);
        free(pl->reloaded);
        free(pl->batch);
        free(pl->merge);
        free(pl->held);
        free(pl->inflight);
        free(pl);
}
