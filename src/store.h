/* funneld — the Redis side: connection, offsets, owner epochs, the fenced
 * atomic commit of a batch, and the outbox.
 *
 * Key names are a public API (docs/REDIS.md). Keys here are the ones that
 * belong to a consumer group, not to a tenant:
 *   P:meta                       hash  layout_version, writer,
 *                                      dedupe_v1_until (upgraded from 1)
 *   P:offsets:G                  hash  "<topic>:<partition>" -> next offset
 *   P:epoch:G:<partition>        string owner epoch of a partition pair
 *   P:outbox:G:<partition>       list  derived events waiting to be produced
 * with P the redis.prefix and G the consumer group id. */
#ifndef FD_STORE_H
#define FD_STORE_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "funneld/config.h"
#include "resp.h"

#define FD_LAYOUT_VERSION 2

typedef struct fd_store fd_store;

enum {
        FD_STORE_OK = 0,
        FD_STORE_ERR = -1,     /* connection or protocol error: reconnect */
        FD_STORE_FENCED = -2,  /* a partition's epoch moved: we lost it */
        FD_STORE_PARTIAL = -3, /* EXEC ran, but some of its commands failed
                                * (Redis does not roll back): stop */
};

/* Connects (AUTH, SELECT), checks/sets the layout marker. Returns NULL and
 * fills errstr when Redis is unreachable or holds an unknown layout. */
fd_store *fd_store_new(const fd_config *conf, char *errstr, size_t errstr_size);
void fd_store_destroy(fd_store *store);

/* Until when (wall-clock ms) layout-1 dedupe markers may exist: data
 * upgraded from layout 1 (dedupe.h); 0 when there are none. */
int64_t fd_store_dedupe_v1_until(const fd_store *store);

/* Drops the connection and connects again. 0 or FD_STORE_ERR. */
int fd_store_reconnect(fd_store *store, char *errstr, size_t errstr_size);

/* The last connection error ("" when none). */
const char *fd_store_error(const fd_store *store);

/* The prefix ("fd") and group used in key names. */
const char *fd_store_prefix(const fd_store *store);
const char *fd_store_group(const fd_store *store);

/* Between fd_store_replies_begin and fd_store_replies_end, the replies
 * fd_store_pipeline and fd_store_watch_read return are built in the store's
 * reply arena, not one malloc per element: they must not be given to
 * freeReplyObject, and stay valid until fd_store_replies_release (the
 * processor's batch reset), which keeps the arena's memory for the next
 * batch. A batch's reads are thousands of small replies. */
void fd_store_replies_begin(fd_store *store);
void fd_store_replies_end(fd_store *store);
void fd_store_replies_release(fd_store *store);

/* Sends r's commands as one pipeline and returns their replies in replies
 * (r->cmd_cnt entries; the caller frees each with freeReplyObject). A reply
 * of type REDIS_REPLY_ERROR is returned as is. 0 or FD_STORE_ERR (then no
 * replies are left allocated). */
int fd_store_pipeline(fd_store *store, const fd_resp *r, redisReply **replies);

/* Bumps the epoch of every partition in parts (cnt entries) and returns the
 * new epochs in epochs. */
int fd_store_claim(fd_store *store, const int32_t *parts, size_t cnt,
                   int64_t *epochs);

/* Reads the next offsets of topic's partitions; -1 where none is stored. */
int fd_store_offsets(fd_store *store, const char *topic, const int32_t *parts,
                     size_t cnt, int64_t *offsets);

/* Runs r's commands in one MULTI/EXEC, but only if every partition in parts
 * still has the epoch given in epochs (WATCHed, so a claim by another
 * instance between the check and EXEC also aborts). FD_STORE_OK, _FENCED
 * or _ERR. A command refused while queueing (out of memory, ...) makes
 * Redis discard the whole transaction: FD_STORE_ERR, to be redone. A command
 * that fails while EXEC runs (WRONGTYPE: a key holds what funneld did not
 * write) does not undo the others: FD_STORE_PARTIAL. */
int fd_store_commit(fd_store *store, const int32_t *parts,
                    const int64_t *epochs, size_t cnt, const fd_resp *r);

/* fd_store_commit in steps, for a batch applied while Redis runs the one
 * before (process.c):
 * fd_store_watch_read sends r's commands (reads) and the epoch check of
 * fd_store_commit in one round trip: r's replies in replies, which has
 * room for two more (the caller frees them; only with FD_STORE_OK), r as it
 * was, and FD_STORE_OK (the epochs are WATCHed), _FENCED or _ERR.
 * fd_store_exec_send then sends MULTI, r's commands and EXEC without
 * waiting; fd_store_exec_finish reads the answer of its cmds commands (as
 * fd_store_commit).
 * Nothing else may use the connection between the last two. */
int fd_store_watch_read(fd_store *store, const int32_t *parts,
                        const int64_t *epochs, size_t cnt, fd_resp *r,
                        redisReply **replies);
int fd_store_exec_send(fd_store *store, const fd_resp *r);
int fd_store_exec_finish(fd_store *store, size_t cmds);

/* Appends the key of partition's outbox, P:outbox:G:<partition>, to r
 * (a batch RPUSHes its entries there). */
int fd_store_outbox_key(fd_store *store, fd_resp *r, int32_t partition);

/* Reads up to max entries from the head of partition's outbox into *reply
 * (an array reply; the caller frees it). */
int fd_store_outbox_peek(fd_store *store, int32_t partition, long max,
                         redisReply **reply);

/* Removes the first n entries, if the epoch still matches. */
int fd_store_outbox_trim(fd_store *store, int32_t partition, int64_t epoch,
                         long n);

#endif
