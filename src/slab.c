/* funneld — blocks carved from shared chunks (slab.h). */
#include "slab.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct chunk {
        fd_slab *slab;
        struct chunk *next; /* in the spare list */
        size_t live;        /* blocks not released */
        size_t used, cap;   /* bytes of data carved, and its size */
        alignas(max_align_t) unsigned char data[];
} chunk;

struct fd_slab {
        size_t chunk_size;
        chunk *cur;   /* blocks are carved from it */
        chunk *spare; /* empty, for the next cur */
        size_t out;   /* chunks not in spare (cur, and the ones
                       * with blocks out) */
        int dead;     /* fd_slab_free was called: goes with out */
};

fd_slab *fd_slab_new(size_t chunk_size)
{
        fd_slab *slab = calloc(1, sizeof(*slab));
        if (slab)
                slab->chunk_size = chunk_size < 1024 ? 1024 : chunk_size;
        return slab;
}

static chunk *chunk_new(fd_slab *slab, size_t cap)
{
        chunk *c = malloc(sizeof(*c) + cap);
        if (!c)
                return NULL;
        *c = (chunk){.slab = slab, .cap = cap};
        slab->out++;
        return c;
}

/* Gives c, no longer cur and with no block out, back to its slab. */
static void chunk_done(chunk *c)
{
        fd_slab *slab = c->slab;
        /* Every empty chunk is kept for reuse: a slab holds what its
         * deepest backlog needed (bounded by the queue's limit), and a
         * queue that fills again reuses its pages instead of malloc's
         * handing freed ones back to the kernel and faulting fresh ones
         * in. */
        if (!slab->dead && c->cap == slab->chunk_size) {
                c->used = 0;
                c->next = slab->spare;
                slab->spare = c;
                slab->out--;
                return;
        }
        free(c);
        if (--slab->out == 0 && slab->dead)
                free(slab);
}

/* n rounded up to the alignment of every block. */
static size_t aligned(size_t n)
{
        const size_t align = alignof(max_align_t);
        return (n + align - 1) & ~(align - 1);
}

void *fd_slab_alloc(fd_slab *slab, size_t n, void **owner)
{
        chunk *c = slab->cur;

        n = aligned(n);
        if (n > slab->chunk_size / 4) {
                c = chunk_new(slab, n); /* its own: freed on release */
        } else if (!c || c->cap - c->used < n) {
                /* A new cur (the old one, with blocks out, goes with its
                 * last release; an emptied cur starts over at 0). */
                if ((c = slab->spare)) {
                        slab->spare = c->next;
                        slab->out++;
                } else if (!(c = chunk_new(slab, slab->chunk_size))) {
                        return NULL;
                }
                slab->cur = c;
        }
        if (!c)
                return NULL;
        void *p = c->data + c->used;
        c->used += n;
        c->live++;
        *owner = c;
        return p;
}

void fd_slab_shrink(void *owner, void *p, size_t n, size_t used)
{
        chunk *c = owner;

        n = aligned(n);
        used = aligned(used);
        if (c == c->slab->cur && used <= n &&
            (unsigned char *)p + n == c->data + c->used)
                c->used -= n - used;
}

void fd_slab_release(void *owner)
{
        chunk *c = owner;
        if (--c->live)
                return;
        if (c == c->slab->cur)
                c->used = 0; /* carved again from its start */
        else
                chunk_done(c);
}

void fd_slab_free(fd_slab *slab)
{
        if (!slab)
                return;
        for (chunk *c = slab->spare, *next; c; c = next) {
                next = c->next;
                free(c);
        }
        slab->spare = NULL;
        slab->dead = 1;
        chunk *cur = slab->cur;
        slab->cur = NULL;
        if (cur && cur->live == 0)
                chunk_done(cur);
        else if (slab->out == 0)
                free(slab);
}
