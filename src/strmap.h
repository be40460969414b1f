/* funneld — an open-addressing hash map from byte-string keys to a value.
 *
 * The map copies keys; values are a pointer and an int64 the caller uses as it
 * likes (counters merge into i64, lead states hang off ptr). Iteration order
 * is insertion order, so batches write Redis in a deterministic order. */
#ifndef FD_STRMAP_H
#define FD_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "funneld/codec.h"

typedef struct fd_strmap_entry {
        char *key; /* NUL-terminated copy, owned by the map (its arena) */
        size_t klen;
        uint64_t hash;
        void *ptr;
        int64_t i64;
} fd_strmap_entry;

typedef struct fd_strmap {
        fd_strmap_entry *entries; /* insertion order */
        size_t cnt, cap;
        uint32_t *slots; /* index + 1 into entries, 0 = empty */
        size_t slot_cnt;
        struct fd_strmap_chunk *keys; /* arena of the keys, newest first */
} fd_strmap;

void fd_strmap_init(fd_strmap *map);
/* Frees keys and tables; values are the caller's to release first. */
void fd_strmap_free(fd_strmap *map);
/* Empties the map, keeping its memory. */
void fd_strmap_clear(fd_strmap *map);

/* The entry for key, or NULL. */
fd_strmap_entry *fd_strmap_get(const fd_strmap *map, const char *key,
                               size_t klen);
/* The entry for key, created zeroed when new (*created = 1). NULL on OOM.
 * The pointer is valid until the next insertion. */
fd_strmap_entry *fd_strmap_upsert(fd_strmap *map, const char *key, size_t klen,
                                  int *created);

/* The same for a key whose fd_hash64() the caller has (an entry's hash
 * when the key moves from one map to another). */
fd_strmap_entry *fd_strmap_get_hashed(const fd_strmap *map, const char *key,
                                      size_t klen, uint64_t hash);
fd_strmap_entry *fd_strmap_upsert_hashed(fd_strmap *map, const char *key,
                                         size_t klen, uint64_t hash,
                                         int *created);

/* Prefetching for a run of lookups: fd_strmap_prefetch_slot starts loading
 * the slot a key of hash is probed at first; once that has arrived (after
 * the run's other slots were asked for), fd_strmap_prefetch_entry starts
 * loading the entry the slot holds. */
static inline void fd_strmap_prefetch_slot(const fd_strmap *map, uint64_t hash)
{
        if (map->slot_cnt)
                __builtin_prefetch(&map->slots[hash & (map->slot_cnt - 1)]);
}

static inline void fd_strmap_prefetch_entry(const fd_strmap *map, uint64_t hash)
{
        uint32_t s;
        if (map->slot_cnt && (s = map->slots[hash & (map->slot_cnt - 1)]))
                __builtin_prefetch(&map->entries[s - 1]);
}

/* The map's entries ordered by key up to its first NUL (strcmp), entries
 * of equal first parts in insertion order: an array of cnt pointers the
 * caller frees; NULL when out of memory or empty. */
fd_strmap_entry **fd_strmap_sorted(const fd_strmap *map);

/* The same into *by, an array of *cap pointers the caller keeps (and
 * frees), grown to at least extra + cnt: the extra slots follow the cnt
 * sorted ones. 0, or -1 when memory runs out. */
int fd_strmap_sort_into(const fd_strmap *map, size_t extra,
                        fd_strmap_entry ***by, size_t *cap);

/* Sets k to a key made of the strings parts[0..cnt), each but the last
 * followed by a NUL ("a\0b\0c"); a last "" leaves k ending in a NUL, for
 * a binary part the caller appends. 0, or -1 when memory runs out or there
 * are more than FD_KEY_MAX_PARTS parts. */
#define FD_KEY_MAX_PARTS 8
int fd_strmap_keyv(fd_buf *k, const char *const *parts, size_t cnt);

/* fd_strmap_keyv of parts whose lengths are known (any count): the one
 * builder of the format, fd_strmap_keyv measures and calls it. */
int fd_strmap_keysv(fd_buf *k, const fd_sv *parts, size_t cnt);
#define fd_strmap_keyn(k, ...)                                                 \
        fd_strmap_keysv((k), (const fd_sv[]){__VA_ARGS__},                     \
                        sizeof((const fd_sv[]){__VA_ARGS__}) / sizeof(fd_sv))

/* fd_strmap_key(k, "a", "b", "c"): fd_strmap_keyv of the strings given
 * (an array rather than variable arguments: built several times per
 * event). */
#define FD_KEY_PARTS(...) ((const char *const[]){__VA_ARGS__})
#define fd_strmap_key(k, ...)                                                  \
        fd_strmap_keyv((k), FD_KEY_PARTS(__VA_ARGS__),                         \
                       sizeof(FD_KEY_PARTS(__VA_ARGS__)) /                     \
                               sizeof(const char *))

uint64_t fd_hash64(const void *data, size_t len);

#endif
