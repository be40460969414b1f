/* funneld — open-addressing string hash map. */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

uint64_t fd_hash64(const void *data, size_t len)
{
        /* FNV-1a, then a final avalanche (splitmix64 finaliser). */
        const unsigned char *p = data;
        uint64_t h = 1469598103934665603ULL;
        for (size_t i = 0; i < len; i++) {
                h ^= p[i];
                h *= 1099511628211ULL;
        }
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebULL;
        h ^= h >> 31;
        return h;
}

void fd_strmap_init(fd_strmap *map)
{
        memset(map, 0, sizeof(*map));
}

void fd_strmap_clear(fd_strmap *map)
{
        for (size_t i = 0; i < map->cnt; i++)
                free(map->entries[i].key);
        map->cnt = 0;
        if (map->slots)
                memset(map->slots, 0, map->slot_cnt * sizeof(*map->slots));
}

void fd_strmap_free(fd_strmap *map)
{
        fd_strmap_clear(map);
        free(map->entries);
        free(map->slots);
        fd_strmap_init(map);
}

static size_t find_slot(const fd_strmap *map, const char *key, size_t klen,
                        int *found)
{
        size_t mask = map->slot_cnt - 1;
        size_t i = (size_t)fd_hash64(key, klen) & mask;
        for (;;) {
                uint32_t s = map->slots[i];
                if (s == 0) {
                        *found = 0;
                        return i;
                }
                const fd_strmap_entry *e = &map->entries[s - 1];
                if (e->klen == klen && memcmp(e->key, key, klen) == 0) {
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
                int found;
                size_t i = find_slot(map, map->entries[e].key,
                                     map->entries[e].klen, &found);
                map->slots[i] = (uint32_t)(e + 1);
        }
        return 0;
}

fd_strmap_entry *fd_strmap_get(const fd_strmap *map, const char *key,
                               size_t klen)
{
        int found;
        if (!map->slot_cnt)
                return NULL;
        size_t i = find_slot(map, key, klen, &found);
        return found ? &map->entries[map->slots[i] - 1] : NULL;
}

fd_strmap_entry *fd_strmap_upsert(fd_strmap *map, const char *key, size_t klen,
                                  int *created)
{
        int found;
        size_t i;

        *created = 0;
        if ((map->cnt + 1) * 2 > map->slot_cnt && grow_slots(map) != 0)
                return NULL;
        i = find_slot(map, key, klen, &found);
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
        e->key = malloc(klen + 1);
        if (!e->key)
                return NULL;
        memcpy(e->key, key, klen);
        e->key[klen] = '\0';
        e->klen = klen;
        map->slots[i] = (uint32_t)(++map->cnt);
        *created = 1;
        return e;
}
