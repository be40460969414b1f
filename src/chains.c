/* funneld — values grouped by key, in the order added (chains.h). */
#include "chains.h"

#include <stdlib.h>
#include <string.h>

void fd_chains_init(fd_chains *ch)
{
        memset(ch, 0, sizeof(*ch));
        fd_strmap_init(&ch->by_key);
}

void fd_chains_clear(fd_chains *ch)
{
        fd_strmap_clear(&ch->by_key);
        fd_buf_reset(&ch->values);
        ch->cnt = 0;
}

void fd_chains_free(fd_chains *ch)
{
        fd_strmap_free(&ch->by_key);
        fd_buf_free(&ch->values);
        free(ch->items);
        fd_chains_init(ch);
}

fd_strmap_entry *fd_chains_put(fd_chains *ch, const char *key, size_t klen,
                               const char *value, size_t len, int64_t at)
{
        int created;
        if (ch->cnt == ch->cap) {
                size_t cap = ch->cap ? ch->cap * 2 : 256;
                fd_chain_item *grown = realloc(ch->items, cap * sizeof(*grown));
                if (!grown)
                        return NULL;
                ch->items = grown;
                ch->cap = cap;
        }
        fd_strmap_entry *k = fd_strmap_upsert(&ch->by_key, key, klen, &created);
        if (!k || len > UINT32_MAX || ch->cnt >= UINT32_MAX)
                return NULL;
        ch->items[ch->cnt] = (fd_chain_item){at, ch->values.len, (uint32_t)len,
                                             (uint32_t)k->i64};
        if (fd_buf_append(&ch->values, value, len) != 0)
                return NULL;
        ch->values.len++; /* its NUL */
        k->i64 = (int64_t)++ch->cnt;
        return k;
}

int fd_chains_add(fd_chains *ch, const char *key, size_t klen,
                  const char *value, size_t len, int64_t at)
{
        return fd_chains_put(ch, key, klen, value, len, at) ? 0 : -1;
}

long fd_chains_order(const fd_chains *ch, int64_t head, uint32_t **order,
                     size_t *cap)
{
        size_t n = 0;
        for (int64_t i = head; i; i = ch->items[i - 1].prev)
                n++;
        if (n > *cap) {
                uint32_t *g = realloc(*order, n * 2 * sizeof(*g));
                if (!g)
                        return -1;
                *order = g;
                *cap = n * 2;
        }
        size_t at = n;
        for (int64_t i = head; i; i = ch->items[i - 1].prev)
                (*order)[--at] = (uint32_t)(i - 1);
        return (long)n;
}
