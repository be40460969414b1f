/* funneld — values grouped by key, in the order added. */
#ifndef FUNNELD_CHAINS_H
#define FUNNELD_CHAINS_H

#include <stddef.h>
#include <stdint.h>

#include "funneld/codec.h"
#include "strmap.h"

/* Values by key, each key's values chained newest first: by_key "key" ->
 * i64 = its newest item + 1, each item linking to the one before it. The
 * values are NUL-terminated in one arena; a value added twice is there
 * twice. A batch keeps its touches and score history by zset, its stitches
 * by lead and its outbox entries by partition in them (apply.h): the flush
 * writes one command per key, and a close finds its lead's without a scan
 * of the batch. */
typedef struct fd_chain_item {
        int64_t at;    /* the score */
        size_t off;    /* the value's bytes in values */
        uint32_t len;  /* their length */
        uint32_t prev; /* the key's item before this one + 1; 0 */
} fd_chain_item;

typedef struct fd_chains {
        fd_strmap by_key;
        fd_chain_item *items;
        size_t cnt, cap;
        fd_buf values;
} fd_chains;

void fd_chains_init(fd_chains *ch);
void fd_chains_clear(fd_chains *ch);
void fd_chains_free(fd_chains *ch);

/* Adds value (len bytes) with i64 at to key (klen bytes). */
int fd_chains_add(fd_chains *ch, const char *key, size_t klen,
                  const char *value, size_t len, int64_t at);
/* The same, returning key's by_key entry (NULL when out of memory): its
 * ptr is the caller's, NULL while the caller has not set it (apply.c marks
 * the zsets to trim at flush). Valid until the next addition. */
fd_strmap_entry *fd_chains_put(fd_chains *ch, const char *key, size_t klen,
                               const char *value, size_t len, int64_t at);

/* The items of the chain whose newest is head (a by_key entry's i64, 0:
 * none), oldest first: their indexes in *order, grown as needed (*cap its
 * room; free it after). Their count, or -1 out of memory. */
long fd_chains_order(const fd_chains *ch, int64_t head, uint32_t **order,
                     size_t *cap);

#endif
