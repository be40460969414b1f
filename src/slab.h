/* funneld — blocks carved from shared chunks, for data released in about
 * the order it was made (a partition's decoded events): no allocator call
 * per block, and a release touches only its chunk's counter, not memory
 * around the block. */
#ifndef FUNNELD_SLAB_H
#define FUNNELD_SLAB_H

#include <stddef.h>

typedef struct fd_slab fd_slab;

/* A slab of chunk_size-byte chunks; NULL when out of memory. */
fd_slab *fd_slab_new(size_t chunk_size);

/* n bytes aligned for any type, or NULL when out of memory. *owner is set
 * to what fd_slab_release takes back. Blocks larger than a quarter chunk get
 * a chunk of their own. */
void *fd_slab_alloc(fd_slab *slab, size_t n, void **owner);

/* Gives back the end of block p of n bytes (fd_slab_alloc's), keeping its
 * first used bytes, when it is the latest block carved from its chunk;
 * otherwise nothing changes. */
void fd_slab_shrink(void *owner, void *p, size_t n, size_t used);

/* Releases a block by its owner (fd_slab_alloc's). A chunk whose blocks
 * are all released is kept for reuse until the slab is freed (a block of
 * its own chunk is freed). */
void fd_slab_release(void *owner);

/* Destroys slab (NULL allowed). Blocks still out stay valid: their chunks
 * go with their last release, and the slab with its last chunk. */
void fd_slab_free(fd_slab *slab);

#endif
