/* Unit tests of the slab that holds decoded events' strings. */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fdtest.h"
#include "slab.h"

static void test_blocks_share_a_chunk_aligned(void)
{
        fd_slab *s = fd_slab_new(4096);
        void *o1, *o2;
        char *a = fd_slab_alloc(s, 3, &o1);
        char *b = fd_slab_alloc(s, 40, &o2);

        FD_CHECK(a && b && a != b);
        FD_CHECK(o1 == o2); /* one chunk */
        FD_CHECK((uintptr_t)a % alignof(max_align_t) == 0);
        FD_CHECK((uintptr_t)b % alignof(max_align_t) == 0);
        FD_CHECK(b >= a + 3);
        memcpy(a, "ab", 3);
        memset(b, 'x', 40);
        FD_CHECK_STR(a, "ab");
        fd_slab_release(o1);
        fd_slab_release(o2);
        fd_slab_free(s);
}

/* Blocks released in order: a full chunk whose blocks are all back is
 * carved again, without memory of its own growing. */
static void test_released_chunk_is_reused(void)
{
        fd_slab *s = fd_slab_new(1024);
        void *owner[64];
        char *block[64];

        for (int i = 0; i < 64; i++) {
                block[i] = fd_slab_alloc(s, 100, &owner[i]);
                FD_CHECK(block[i] != NULL);
                memset(block[i], i, 100);
        }
        /* ~9 blocks of 112 bytes per 1 KiB chunk: several chunks */
        FD_CHECK(owner[0] != owner[63]);
        int first = 0;
        while (first < 64 && owner[first] == owner[0])
                first++;
        for (int i = 0; i < first; i++)
                fd_slab_release(owner[i]);
        /* What the others hold is untouched. */
        for (int i = first; i < 64; i++)
                FD_CHECK(block[i][0] == (char)i && block[i][99] == (char)i);
        /* The current chunk fills; the next is the spare one. */
        void *o[16];
        char *p = NULL;
        int n = 0;
        while (n < 16) {
                p = fd_slab_alloc(s, 100, &o[n]);
                if (o[n++] != owner[63])
                        break;
        }
        FD_CHECK(p == block[0]);
        FD_CHECK(o[n - 1] == owner[0]);
        for (int i = 0; i < n; i++)
                fd_slab_release(o[i]);
        for (int i = first; i < 64; i++)
                fd_slab_release(owner[i]);
        fd_slab_free(s);
}

/* The current chunk with nothing out starts again at its beginning. */
static void test_empty_current_chunk_restarts(void)
{
        fd_slab *s = fd_slab_new(4096);
        void *o1, *o2;
        char *a = fd_slab_alloc(s, 64, &o1);
        fd_slab_release(o1);
        char *b = fd_slab_alloc(s, 64, &o2);
        FD_CHECK(a == b);
        fd_slab_release(o2);
        fd_slab_free(s);
}

static void test_large_block_has_its_own_chunk(void)
{
        fd_slab *s = fd_slab_new(4096);
        void *small, *big;
        char *a = fd_slab_alloc(s, 16, &small);
        char *b = fd_slab_alloc(s, 3000, &big);

        FD_CHECK(a && b);
        FD_CHECK(small != big);
        memset(b, 'y', 3000);
        fd_slab_release(big);
        fd_slab_release(small);
        fd_slab_free(s);
}

/* Shrinking the latest block gives its end to the next block; an older
 * block or a block of its own chunk keeps its size. */
static void test_shrink_latest_block(void)
{
        const size_t al = alignof(max_align_t);
        fd_slab *s = fd_slab_new(4096);
        void *o1, *o2, *o3, *o4, *o5;
        char *a = fd_slab_alloc(s, 512, &o1);
        char *b, *c, *d;

        fd_slab_shrink(o1, a, 512, 10);
        b = fd_slab_alloc(s, 100, &o2);
        FD_CHECK(b == a + (10 + al - 1) / al * al);
        fd_slab_shrink(o1, a, 512, 0); /* a is not the latest: no change */
        c = fd_slab_alloc(s, 8, &o3);
        FD_CHECK(c == b + (100 + al - 1) / al * al);
        d = fd_slab_alloc(s, 3000, &o4); /* its own chunk */
        fd_slab_shrink(o4, d, 3000, 1);
        FD_CHECK(fd_slab_alloc(s, 8, &o5) == c + al); /* still after c */
        memset(d, 'z', 3000);
        fd_slab_release(o1);
        fd_slab_release(o2);
        fd_slab_release(o3);
        fd_slab_release(o4);
        fd_slab_release(o5);
        fd_slab_free(s);
}

/* Freeing the slab while blocks are out: they stay valid; the last release
 * frees what is left (the leak checkers of the sanitizer and valgrind runs
 * see the rest). */
static void test_blocks_outlive_the_slab(void)
{
        fd_slab *s = fd_slab_new(1024);
        void *o[20];
        char *b[20];
        for (int i = 0; i < 20; i++)
                b[i] = fd_slab_alloc(s, 200, &o[i]);
        fd_slab_free(s);
        for (int i = 0; i < 20; i++) {
                memset(b[i], 'z', 200);
                fd_slab_release(o[i]);
        }
        fd_slab_free(NULL);
}

int main(void)
{
        FD_RUN(test_blocks_share_a_chunk_aligned);
        FD_RUN(test_released_chunk_is_reused);
        FD_RUN(test_empty_current_chunk_restarts);
        FD_RUN(test_large_block_has_its_own_chunk);
        FD_RUN(test_blocks_outlive_the_slab);
        FD_RUN(test_shrink_latest_block);
        return FD_DONE();
}
