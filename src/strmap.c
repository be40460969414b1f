/* funneld — open-addressing string hash map. */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

/* Keys live in chunks of at least this many bytes. */
#define KEY_CHUNK 65536

struct fd_strmap_chunk {
        struct fd_strmap_chunk *next;
        size_t used, cap;
        char data[];
};

static uint64_t mix(uint64_t h)
{
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebULL;
        h ^= h >> 31;
        return h;
}

uint64_t fd_hash64(const void *data, size_t len)
{
        /* Eight bytes at a time: multiply, rotate; then the splitmix64
         * finaliser avalanches the result. */
        const unsigned char *p = data;
        /* The length, multiplied: xor-ed as it is, it cancelled against
         * the low bits of a short key's bytes ("`b" and "abb"). */
        uint64_t h = (0x9e3779b97f4a7c15ULL ^ len) * 0xff51afd7ed558ccdULL;
        uint64_t w = 0;

        if (len >= 8) {
                const unsigned char *last = p + len - 8;
                for (; p < last; p += 8) {
                        memcpy(&w, p, 8);
                        h = (h ^ w) * 0xff51afd7ed558ccdULL;
                        h = (h << 29) | (h >> 35);
                }
                /* The last 8 bytes, overlapping the words before when len
                 * is not a multiple of 8 (len is in h): no byte loop. */
                memcpy(&w, last, 8);
        } else if (len >= 4) {
                uint32_t lo, hi;
                memcpy(&lo, p, 4);
                memcpy(&hi, p + len - 4, 4);
                w = lo | (uint64_t)hi << 32;
        } else if (len) {
                w = p[0] | (uint64_t)p[len / 2] << 8 |
                    (uint64_t)p[len - 1] << 16;
        }
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
        return mix(h);
}

void fd_strmap_init(fd_strmap *map)
{
        memset(map, 0, sizeof(*map));
}

/* Frees every key chunk but the newest, which is emptied for reuse. */
static void keys_reset(fd_strmap *map, int keep)
{
        struct fd_strmap_chunk *c = map->keys, *next;

        if (c && keep) {
                c->used = 0;
                c = c->next;
                map->keys->next = NULL;
        } else {
                map->keys = NULL;
        }
        for (; c; c = next) {
                next = c->next;
                free(c);
        }
}

static char *key_copy(fd_strmap *map, const char *key, size_t klen)
{
        struct fd_strmap_chunk *c = map->keys;
        char *dst;

        if (!c || c->cap - c->used < klen + 1) {
                size_t cap = klen + 1 > KEY_CHUNK ? klen + 1 : KEY_CHUNK;

                c = malloc(sizeof(*c) + cap);
                if (!c)
                        return NULL;
                c->used = 0;
                c->cap = cap;
                c->next = map->keys;
                map->keys = c;
        }
        dst = c->data + c->used;
        memcpy(dst, key, klen);
        dst[klen] = '\0';
        c->used += klen + 1;
        return dst;
}

void fd_strmap_clear(fd_strmap *map)
{
        keys_reset(map, 1);
        if (map->slots && map->cnt * 16 < map->slot_cnt) {
                /* A table grown by a larger batch than this one: zero the
                 * entries' slots, not the whole table. An entry's slot is
                 * at or after its home slot (wrapping); the scan passes
                 * slots already zeroed. */
                size_t mask = map->slot_cnt - 1;
                for (size_t e = 0; e < map->cnt; e++) {
                        size_t i = (size_t)map->entries[e].hash & mask;
                        while (map->slots[i] != (uint32_t)(e + 1))
                                i = (i + 1) & mask;
                        map->slots[i] = 0;
                }
        } else if (map->slots) {
                memset(map->slots, 0, map->slot_cnt * sizeof(*map->slots));
        }
        map->cnt = 0;
}

void fd_strmap_free(fd_strmap *map)
{
        fd_strmap_clear(map);
        keys_reset(map, 0);
        free(map->entries);
        free(map->slots);
        fd_strmap_init(map);
}

static size_t find_slot(const fd_strmap *map, const char *key, size_t klen,
                        uint64_t hash, int *found)
{
        size_t mask = map->slot_cnt - 1;
        size_t i = (size_t)hash & mask;
        for (;;) {
                uint32_t s = map->slots[i];
                if (s == 0) {
                        *found = 0;
                        return i;
                }
                const fd_strmap_entry *e = &map->entries[s - 1];
                if (e->hash == hash && e->klen == klen &&
                    memcmp(e->key, key, klen) == 0) {
                        *found = 1;
                        return i;
                }
                i = (i + 1) & mask;
        }
}

static int grow_slots(fd_strmap *map)
{
        size_t n = map->slot_cnt ? map->slot_cnt * 2 : 64;
        uint32_t *slots = calloc(n, sizeof(*slots));
        if (!slots)
                return -1;
        free(map->slots);
        map->slots = slots;
        map->slot_cnt = n;
        for (size_t e = 0; e < map->cnt; e++) {
                size_t i = (size_t)map->entries[e].hash & (n - 1);

                while (slots[i])
                        i = (i + 1) & (n - 1);
                slots[i] = (uint32_t)(e + 1);
        }
        return 0;
}

fd_strmap_entry *fd_strmap_get_hashed(const fd_strmap *map, const char *key,
                                      size_t klen, uint64_t hash)
{
        int found;
        if (!map->slot_cnt)
                return NULL;
        size_t i = find_slot(map, key, klen, hash, &found);
        return found ? &map->entries[map->slots[i] - 1] : NULL;
}

fd_strmap_entry *fd_strmap_get(const fd_strmap *map, const char *key,
                               size_t klen)
{
        return map->slot_cnt ? fd_strmap_get_hashed(map, key, klen,
                                                    fd_hash64(key, klen))
                             : NULL;
}

fd_strmap_entry *fd_strmap_upsert(fd_strmap *map, const char *key, size_t klen,
                                  int *created)
{
        return fd_strmap_upsert_hashed(map, key, klen, fd_hash64(key, klen),
                                       created);
}

fd_strmap_entry *fd_strmap_upsert_hashed(fd_strmap *map, const char *key,
                                         size_t klen, uint64_t hash,
                                         int *created)
{
        int found;
        size_t i;

        *created = 0;
        if ((map->cnt + 1) * 2 > map->slot_cnt && grow_slots(map) != 0)
                return NULL;
        i = find_slot(map, key, klen, hash, &found);
        if (found)
                return &map->entries[map->slots[i] - 1];
        if (map->cnt == map->cap) {
                size_t cap = map->cap ? map->cap * 2 : 32;
                fd_strmap_entry *e = realloc(map->entries, cap * sizeof(*e));
                if (!e)
                        return NULL;
                map->entries = e;
                map->cap = cap;
        }
        fd_strmap_entry *e = &map->entries[map->cnt];
        memset(e, 0, sizeof(*e));
        e->key = key_copy(map, key, klen);
        if (!e->key)
                return NULL;
        e->klen = klen;
        e->hash = hash;
        map->slots[i] = (uint32_t)(++map->cnt);
        *created = 1;
        return e;
}

static int cmp_entry_key(const void *a, const void *b)
{
        const fd_strmap_entry *x = *(const fd_strmap_entry *const *)a;
        const fd_strmap_entry *y = *(const fd_strmap_entry *const *)b;
        int c = strcmp(x->key, y->key);
        /* equal first parts: insertion order (entries is in that order) */
        return c ? c : (x > y) - (x < y);
}

/* Maps sorted by first part mostly have a few of them (the tenants of a
 * batch): beyond this many, qsort. */
#define FEW_PARTS 32

/* The index in parts[0..*cnt) of key's first part, added when new (-1 when
 * there would be more than FEW_PARTS); *last is where the search starts. */
static int part_of(const char **parts, size_t *cnt, size_t *last,
                   const char *key)
{
        if (*cnt && strcmp(parts[*last], key) == 0)
                return (int)*last;
        for (size_t j = 0; j < *cnt; j++)
                if (strcmp(parts[j], key) == 0)
                        return (int)(*last = j);
        if (*cnt == FEW_PARTS)
                return -1;
        parts[*cnt] = key;
        return (int)(*last = (*cnt)++);
}

/* fd_strmap_sort_into's order without comparing entries: the distinct
 * first parts are sorted, then each entry goes to its part's next place
 * (a counting sort, stable). -1 when there are too many parts (or no
 * memory). */
static int group_by_first_part(const fd_strmap *map, fd_strmap_entry **by)
{
        const char *parts[FEW_PARTS];
        size_t cnt = 0, last = 0, at[FEW_PARTS] = {0}, order[FEW_PARTS];
        unsigned char *part = malloc(map->cnt); /* each entry's part */
        int p = 0;

        for (size_t i = 0; part && i < map->cnt && p >= 0; i++)
                if ((p = part_of(parts, &cnt, &last, map->entries[i].key)) >= 0)
                        at[part[i] = (unsigned char)p]++;
        if (!part || p < 0) {
                free(part);
                return -1;
        }
        /* order[k]: the part k-th by strcmp (insertion sort of a few). */
        for (size_t k = 0; k < cnt; k++) {
                size_t j = k;
                for (; j > 0 && strcmp(parts[order[j - 1]], parts[k]) > 0; j--)
                        order[j] = order[j - 1];
                order[j] = k;
        }
        for (size_t k = 0, start = 0; k < cnt; k++) {
                size_t n = at[order[k]];
                at[order[k]] = start;
                start += n;
        }
        for (size_t i = 0; i < map->cnt; i++)
                by[at[part[i]]++] = &map->entries[i];
        free(part);
        return 0;
}

int fd_strmap_sort_into(const fd_strmap *map, size_t extra,
                        fd_strmap_entry ***by, size_t *cap)
{
        size_t need = map->cnt + extra;

        if (need > *cap) {
                fd_strmap_entry **grown = realloc(*by, need * sizeof(*grown));
                if (!grown)
                        return -1;
                *by = grown;
                *cap = need;
        }
        if (group_by_first_part(map, *by) != 0) {
                for (size_t i = 0; i < map->cnt; i++)
                        (*by)[i] = &map->entries[i];
                qsort(*by, map->cnt, sizeof(**by), cmp_entry_key);
        }
        return 0;
}

fd_strmap_entry **fd_strmap_sorted(const fd_strmap *map)
{
        fd_strmap_entry **by = NULL;
        size_t cap = 0;

        if (!map->cnt || fd_strmap_sort_into(map, 0, &by, &cap) != 0)
                return NULL;
        return by;
}

int fd_strmap_keysv(fd_buf *k, const fd_sv *parts, size_t cnt)
{
        size_t total = cnt ? cnt - 1 : 0; /* the NULs between */
        for (size_t i = 0; i < cnt; i++)
                total += parts[i].n;
        fd_buf_reset(k);
        if (fd_buf_ensure(k, total) != 0)
                return -1;
        char *d = k->data;
        for (size_t i = 0; i < cnt; i++) {
                fd_copy(d, parts[i].s, parts[i].n);
                d += parts[i].n;
                *d++ = '\0'; /* between parts; the last is the buffer's */
        }
        k->len = total;
        return 0;
}

int fd_strmap_keyv(fd_buf *k, const char *const *parts, size_t cnt)
{
        fd_sv sv[FD_KEY_MAX_PARTS];
        if (cnt > FD_KEY_MAX_PARTS)
                return -1;
        for (size_t i = 0; i < cnt; i++)
                sv[i] = fd_sv_of(parts[i]);
        return fd_strmap_keysv(k, sv, cnt);
}
