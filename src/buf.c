/* funneld — a growable byte buffer (fd_buf, declared in codec.h). */
#include <stdlib.h>
#include <string.h>

#include "funneld/codec.h"

/* Not inlined, even by link-time optimisation: see fd_copy. */
__attribute__((noinline)) void fd_copy_long(void *dst, const void *src,
                                            size_t n)
{
        memcpy(dst, src, n);
}

void fd_buf_reset(fd_buf *buf)
{
        buf->len = 0;
}

int fd_buf_reserve(fd_buf *buf, size_t extra)
{
        size_t need;

        if (extra > SIZE_MAX - buf->len - 1)
                return -1;
        need = buf->len + extra + 1;
        if (need > buf->cap) {
                size_t cap = buf->cap ? buf->cap : 256;
                char *grown;

                while (cap < need)
                        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
                grown = realloc(buf->data, cap);
                if (!grown)
                        return -1;
                buf->data = grown;
                buf->cap = cap;
        }
        return 0;
}

/* Releases buf->data and zeroes buf. */
void fd_buf_free(fd_buf *buf)
{
        free(buf->data);
        buf->data = NULL;
        buf->len = 0;
        buf->cap = 0;
}
