/* funneld — the semantics of one input event against in-memory lead state:
 * identity stitching, touches, scoring, lifecycle, counters, attribution and
 * derived events. Used by process.c, which owns the batch around it. */
#ifndef FD_APPLY_H
#define FD_APPLY_H

#include <time.h>

#include "funneld/attribution.h"
#include "funneld/codec.h"
#include "funneld/config.h"
#include "chains.h"
#include "dedupe.h"
#include "outbox.h"
#include "process.h"
#include "resp.h"
#include "store.h"
#include "strmap.h"

/* The touches of a lead closing in this batch (strings owned). */
typedef struct fd_touch_list {
        fd_touch *touches;
        size_t cnt, cap;
} fd_touch_list;

/* An entry of a deadline set read in round one (cold.c). */
typedef struct fd_due {
        int32_t partition;
        int wall;             /* from P:due:wall:G:<p> */
        int64_t at;           /* its score: the deadline */
        struct fd_lead *lead; /* loaded in the batch (proc->leads) */
        char *member;         /* "T:lead_id" */
} fd_due;

/* What the batch knows of an input partition's deadlines (cold.c). */
typedef struct fd_part_clock {
        int64_t clock;          /* largest lead/CRM event time applied;
                                 * INT64_MIN: none yet */
        int64_t clock0;         /* clock before the batch: restored when
                                 * the batch is not written */
        int64_t scan_to;        /* largest event time in the batch */
        int64_t scan_reply;     /* round one's reply index of its event-clock
                                 * deadline set; -1: not read */
        int64_t wall_reply;     /* the same for its wall-clock set */
        size_t due_lo, due_hi;  /* its event-clock entries in proc->dues not
                                 * yet handled */
        int64_t fresh_min;      /* earliest of its deadlines set in this
                                 * batch not yet handled; INT64_MAX: none */
        int64_t scan_before;    /* its event-clock set was read before this */
        int64_t clock_held;     /* clock before the held batch (process.c) */
        int64_t clock_inflight; /* before the batch in flight */
} fd_part_clock;

/* A batch whose MULTI ... EXEC goes out (or is out) before its answer is
 * read: what counting it once written needs. */
typedef struct fd_sent_batch {
        size_t cmds;             /* its MULTI body's commands */
        size_t n;                /* its input messages */
        struct timespec sent_at; /* CLOCK_MONOTONIC */
        fd_process_stats stats;
} fd_sent_batch;

/* Input partitions whose offsets entry a processor remembers. */
#define FD_OFFSET_MEMO 64

struct fd_processor {
        const fd_config *conf;
        fd_codec *codec;
        fd_store *store;
        const char *prefix;
        size_t prefix_len;
        fd_strmap leads;      /* "tenant\0lead" -> fd_lead*, i64 reply index
                               * (-1: taken from the cache) */
        fd_strmap cache[3];   /* lead states of earlier batches, as committed:
                               * generations of processing.lead_cache / 2
                               * (ptr NULL once taken into a batch): the
                               * current one, the one before, and the one
                               * being freed (process.c cache_keep) */
        int cache_cur;        /* the generation new entries go to */
        uint64_t cache_moves; /* times cache_cur moved or the cache was
                               * emptied (a lead's cache_at holds while
                               * this is its cache_move) */
        size_t retire_pos;    /* entries of the one being freed so far */
        /* Leads round one read from Redis whose hash has no history_bound
         * (written before funneld kept it): round two reads the sizes of
         * their touch and score histories once (ZCARD replies from
         * count_reply on), and their next save stores them. */
        struct fd_lead **counted;
        size_t counted_cnt, counted_cap, count_reply;
        fd_strmap seen; /* "tenant\0event_id" -> 1 stored, 2 in batch */
        fd_strmap_entry **seen_by; /* seen's entries sorted (seen_sorted),
                                    * then room for as many picked */
        size_t seen_by_cap;
        uint64_t *lead_hash; /* fd_hash64 of the reads' msgs[i] lead keys */
        size_t lead_hash_cap;
        int seen_sorted; /* seen_by holds seen's entries: none added since */
        fd_dedupe_plan dedupe;   /* the dedupe sets the batch reads, writes */
        fd_strmap counters;      /* "key\0field" -> increment */
        fd_strmap sets;          /* "key\0member" */
        fd_strmap hlls;          /* "key\0member": PFADD */
        fd_chains batch_touches; /* the zset members (touches, score
                                  * history) the batch added so far (a
                                  * close reads touches with the stored
                                  * ones); a key's entry ptr set: cut to
                                  * touch_max at flush */
        fd_chains batch_anons;   /* "T\0lead\0" -> the anonymous ids the
                                  * batch stitched to the lead */
        fd_chains outbox;        /* input partition (decimal) -> the outbox
                                  * entries the batch adds there */
        fd_strmap offsets;       /* "topic:partition" -> next offset */
        /* offsets' entry (+ 1; 0: none) of each topic's partitions below
         * FD_OFFSET_MEMO, which the batch's messages interleave. */
        uint32_t offset_at[FD_EV__COUNT][FD_OFFSET_MEMO];
        fd_strmap next_offsets;  /* the same, set by the pipeline: wins */
        int next_offsets_broken; /* setting one failed: write nothing */
        fd_resp reads;
        fd_resp writes;
        /* A batch applied but not sent yet (held): the next batch's reads
         * go out before its MULTI ... EXEC, and Redis runs it while the
         * next batch is applied (process.c). The next batch's reads see
         * Redis before it, so they take its leads from the lead cache and
         * its dedupe markers and deadline-set changes from held_seen and
         * held_dues. */
        int held;                 /* 1: held_writes is a batch not written */
        int held_sent;            /* its MULTI ... EXEC is out, unanswered */
        int held_rc;              /* its result once answered (or unsent) */
        fd_sent_batch held_batch; /* cmds set when it is sent */
        fd_resp held_writes;      /* its MULTI body */
        fd_strmap held_seen;      /* its "tenant\0event_id" keys: marked */
        fd_strmap held_dues;      /* "w\0p\0member" -> i64 = score it set,
                                   * INT64_MIN: removed */
        fd_chains held_touches;   /* its batch_touches and batch_anons */
        fd_chains held_anons;
        /* A batch whose MULTI ... EXEC is out, unanswered, while the batch
         * after it is held: its answer is read only when the next batch is
         * due or something else needs Redis (fd_processor_finish), so
         * polling and decoding the next input overlap it too. */
        int inflight;
        fd_sent_batch inflight_batch;
        fd_strmap close_reads; /* what the batch's closes read (close.c) */
        fd_strmap due_writes;  /* the same, of the batch being applied */
        fd_buf scratch;
        fd_buf member; /* a touch or score-history member being built */
        fd_buf enc;
        fd_touch_list close_touches;
        fd_due *dues; /* round one's deadline-set entries, sorted */
        size_t due_cnt, due_cap;
        fd_due *fresh; /* event-clock deadlines set in this batch (no
                        * member; at INT64_MAX once handled) */
        size_t fresh_cnt, fresh_cap;
        fd_part_clock *parts; /* by input partition number */
        size_t part_cnt;
        int64_t wall_now; /* wall-clock ms at the start of the batch */
        int quiet;        /* a replay catching up: no derived events */
        int has_wall;     /* a tenant's cold.clock is wall */
        fd_process_stats stats;
        fd_process_stats batch_stats;
        /* The batch's input events by kind (HINCRBY P:stats:G in:<kind> at
         * flush), and the tenant last added to P:tenants in it ("": none),
         * which the next events of that tenant need not add again. */
        int64_t in_events[FD_EV__COUNT];
        fd_buf tenant_noted;
};

/* The processor's redis.prefix with its length. */
#define FD_PROC_PREFIX(proc) ((fd_sv){(proc)->prefix, (proc)->prefix_len})

/* The tenant, event id and lead id (s NULL for anonymous activity) of an
 * event, with their lengths. */
typedef struct fd_ev_ids {
        fd_sv tenant, event_id, lead_id;
} fd_ev_ids;
fd_ev_ids fd_apply_event_ids(const fd_event *ev);

/* The event clock of an input partition: the largest lead or CRM event time
 * it delivered (INT64_MIN: none yet). */
int64_t fd_apply_clock(const fd_processor *proc, int32_t partition);

/* Notes an event-clock deadline the batch sets for lead in partition: a
 * later event of the partition in the same batch passes it too. */
int fd_apply_fresh_due(fd_processor *proc, struct fd_lead *lead,
                       int32_t partition, int64_t at);

/* Notes a change the batch makes to the deadline set (wall or event
 * clock) of partition: lead's entry scored at, or removed (INT64_MIN). */
int fd_apply_note_due(fd_processor *proc, int wall, int32_t partition,
                      const struct fd_lead *lead, int64_t at);

/* Waits for the held batch's answer (process.c), for reads that must see
 * it written: FD_STORE_OK when it was (or none is held). */
int fd_processor_settle(fd_processor *proc);

/* Applies one message: DLQ for a bad one, dedupe, then its effects. */
int fd_apply_msg(fd_processor *proc, fd_msg *msg);

/* Reads the touches (the lead's and its stitched anonymous ids') inside the
 * lookback window of the closed-won msg into proc->close_touches. */
int fd_apply_read_touches(fd_processor *proc, const fd_msg *msg);

/* Appends merged counters, set members, touch trims and stats to writes. */
int fd_apply_flush_aggregates(fd_processor *proc);

void fd_apply_touches_free(fd_touch_list *list);

/* Local date "YYYY-MM-DD", month "YYYY-MM" and hour "HH" of an event time in
 * a tenant's zone. */
typedef struct fd_bucket {
        char day[16], month[12], hour[4]; /* always these lengths: */
} fd_bucket;
#define FD_BUCKET_DAY_LEN   10 /* YYYY-MM-DD */
#define FD_BUCKET_MONTH_LEN 7  /* YYYY-MM */
#define FD_BUCKET_HOUR_LEN  2  /* HH */
void fd_apply_bucket(const fd_tenant_conf *tconf, int64_t ms, fd_bucket *b);

/* Adds delta to the counter field of the key formatted from keyfmt; merged
 * per batch into one HINCRBY. */
int fd_apply_count(fd_processor *proc, const char *field, int64_t delta,
                   const char *keyfmt, ...)
        __attribute__((format(printf, 4, 5)));

/* The same for many fields of one key: fd_apply_count_key formats the key,
 * then each fd_apply_count_field adds delta to field f1 followed by f2
 * (NULL: none) of it, until the next key or fd_apply_count. */
int fd_apply_count_key(fd_processor *proc, const char *keyfmt, ...)
        __attribute__((format(printf, 2, 3)));
int fd_apply_count_field(fd_processor *proc, const char *f1, const char *f2,
                         int64_t delta);

/* Queues a derived event for topic through partition's outbox. */
int fd_apply_outbox(fd_processor *proc, const char *topic, const char *key,
                    const void *value, size_t len, const fd_header *hdrs,
                    size_t hdr_cnt, int32_t partition);

#endif
