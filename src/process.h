/* funneld — applying a batch of input messages to Redis, exactly once.
 *
 * A batch is read (lead states, dedupe markers, and for a closed-won the
 * lead's touches), applied in memory (identity, scoring, lifecycle,
 * counters, attribution, derived events), and written in one fenced
 * MULTI/EXEC together with the partitions' next offsets and the outbox. */
#ifndef FD_PROCESS_H
#define FD_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "funneld/codec.h"
#include "funneld/config.h"
#include "funneld/event.h"
#include "store.h"

/* What a bad message keeps for its DLQ record (kept apart: every queued
 * message would carry it). Each pointer may be NULL (no memory). */
typedef struct fd_bad {
        char *errmsg;
        void *raw; /* the original value */
        size_t raw_len;
        void *key; /* the original key */
        size_t key_len;
} fd_bad;

/* One consumed message. */
typedef struct fd_msg {
        fd_event ev;         /* decoded; kind FD_EV_NONE when bad */
        fd_event_kind topic; /* the input it came from */
        int32_t partition;
        int64_t offset;
        int64_t ts; /* merge time: occurred_at; INT64_MIN when bad */
        fd_decode_err err;
        /* When it was produced (its Kafka timestamp), as the low 32 bits of
         * fd_mono_ms: its age is the unsigned difference (the event-age
         * metric; ages on arrival are capped at FD_AGE_CAP_MS). */
        uint32_t produced;
        fd_bad *bad;   /* bad only (NULL when out of memory) */
        int duplicate; /* set by the processor: dropped by event id */
        int late;      /* came after a later event of its partition had been
                        * applied (processing.allowed_lateness_ms) */
        /* Set by the processor's reads for its apply (NULL / 0 otherwise):
         * the batch's state of its lead and its dedupe entry + 1. */
        struct fd_lead *lead;
        size_t seen_at;
} fd_msg;

/* Releases what msg owns and zeroes it. */
void fd_msg_clear(fd_msg *msg);

/* Counters of what the processor did, since start. */
typedef struct fd_process_stats {
        int64_t events;
        int64_t dlq;
        int64_t duplicates;
        int64_t promotions;
        int64_t attributions;
        int64_t late;
        int64_t alerts;
        int64_t batches;
        int64_t overlapped;   /* batches Redis ran while the next was applied */
        double last_commit_s; /* the latest batch's MULTI/EXEC: sent to
                               * answer read */
} fd_process_stats;

typedef struct fd_processor fd_processor;

/* The processor borrows conf, codec and store. Free with
 * fd_processor_destroy. */
fd_processor *fd_processor_new(const fd_config *conf, fd_codec *codec,
                               fd_store *store);
void fd_processor_destroy(fd_processor *proc);

/* The next offset the next batch stores for the input partition (instead
 * of the one after its last message in the batch): with
 * processing.allowed_lateness_ms, lower offsets may not be applied yet.
 * Kept until fd_processor_clear_next_offsets(). */
void fd_processor_set_next_offset(fd_processor *proc, fd_event_kind topic,
                                  int32_t partition, int64_t next);
void fd_processor_clear_next_offsets(fd_processor *proc);

/* The partitions owned and their epochs. */
typedef struct fd_owned {
        const int32_t *parts;
        const int64_t *epochs;
        size_t cnt;
} fd_owned;

/* Applies msgs[0..n) as one batch, written with one MULTI/EXEC (a close,
 * won or lost, reads the lead's stored touches mid-batch and adds the ones
 * the batch made before it: close.c). parts/epochs (cnt) are the
 * partitions owned and their epochs.
 *
 * With processing.overlap the batch is not written at once but held
 * (fd_processor_holding): the next call sends its reads, then the held
 * batch's MULTI ... EXEC, and applies its own batch while Redis runs the
 * held one; *held_done is then 1 once the held batch is written. Or, when
 * this batch is held in turn, the held one stays in flight, unanswered
 * (fd_processor_inflight), so that the caller's polling overlaps it too.
 * The caller keeps a held or in-flight batch's messages until written;
 * before anything else uses the store, or when no next batch is ready, it
 * calls fd_processor_finish, then fd_processor_flush. A batch may be run
 * only with none in flight.
 *
 * Returns FD_STORE_OK, FD_STORE_FENCED, FD_STORE_PARTIAL or FD_STORE_ERR;
 * on anything but OK neither this batch nor a held one not done was
 * written (a held batch that failed is dropped: redo from the offsets in
 * Redis). */
int fd_processor_run(fd_processor *proc, fd_msg *msgs, size_t n,
                     const int32_t *parts, const int64_t *epochs, size_t cnt,
                     int *held_done);

/* 1 while a batch is held (applied, not written yet). */
int fd_processor_holding(const fd_processor *proc);

/* 1 while a batch's MULTI ... EXEC is out, unanswered (a batch is held
 * then too). */
int fd_processor_inflight(const fd_processor *proc);

/* Reads the answer of the batch in flight, if any. FD_STORE_OK (written,
 * or none in flight) or a failure: it and the held batch are dropped, as by
 * fd_processor_drop_held. */
int fd_processor_finish(fd_processor *proc);

/* Writes the held batch, if any, and waits for it (none may be in
 * flight). FD_STORE_OK (written, or none held) or the failure of
 * fd_processor_run (the batch is dropped). */
int fd_processor_flush(fd_processor *proc, const int32_t *parts,
                       const int64_t *epochs, size_t cnt);

/* Drops the held batch and the one in flight unwritten (their input is
 * redone from the offsets in Redis), with the lead states they left in the
 * cache. */
void fd_processor_drop_held(fd_processor *proc);

const fd_process_stats *fd_processor_stats(const fd_processor *proc);

/* quiet 1: the next batches publish no derived events (a re-scoring replay
 * that has not caught up yet, replay.h); 0: they do. */
void fd_processor_set_quiet(fd_processor *proc, int quiet);

/* 1 when a tenant's cold deadlines follow the wall clock (cold.clock =
 * wall): then fd_processor_run() with n == 0 checks the deadline sets of
 * the owned partitions and commits the alerts that are due; the pipeline
 * calls it about every second when idle. */
int fd_processor_has_wall_clock(const fd_processor *proc);

/* Drops the lead states kept between batches (processing.lead_cache). Call
 * whenever another writer may have changed them: partitions assigned or
 * revoked, Redis reconnected or re-read. */
void fd_processor_forget_leads(fd_processor *proc);

/* Applies the next batches with conf (a reloaded config whose Kafka, Redis
 * and processing settings equal the old one's; borrowed, must outlive the
 * processor). Call between batches. */
void fd_processor_set_config(fd_processor *proc, const fd_config *conf);

#endif
