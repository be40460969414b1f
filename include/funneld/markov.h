/* funneld — data-driven attribution: first-order Markov chain with removal
 * effect, computed exactly (absorbing-chain linear algebra, no simulation).
 *
 * States: "(start)", one per channel, and the absorbing "(conversion)" and
 * "(null)". A lead's journey is the channels of its touches, oldest first;
 * a closed-won journey c1..cn gives the transitions
 *   (start)->c1, c1->c2, ..., cn->(conversion)
 * and a closed-lost one ends in cn->(null). A journey with no touch is not
 * recorded. Consecutive repeats (A, A) are kept as self-loops A->A: they do
 * not change any absorption probability (a self-loop only delays leaving A;
 * the exit distribution of A is its other transitions renormalised), so
 * they neither help nor hurt a channel.
 *
 * The caller stores transition counts as hash fields "<from>|<to>" -> count
 * (HINCRBY); channel names never contain '|'.
 *
 * Pure: no I/O, no globals. Only fd_markov_compute() and fd_markov_split()
 * allocate; results are freed with fd_markov_result_free(). */
#ifndef FUNNELD_MARKOV_H
#define FUNNELD_MARKOV_H

#include <stddef.h>
#include <stdint.h>

#define FD_MARKOV_START      "(start)"
#define FD_MARKOV_CONVERSION "(conversion)"
#define FD_MARKOV_NULL       "(null)"

enum {
        FD_MARKOV_OK = 0,
        FD_MARKOV_ENOMEM = -1,    /* out of memory */
        FD_MARKOV_ESINGULAR = -2, /* counts form a loop with no way out */
        FD_MARKOV_ENOCREDIT = -3, /* every share is 0: nothing to split */
};

/* 1 when name (len bytes, not necessarily NUL-terminated) can be a channel:
 * non-empty, no '|' and no NUL byte, not one of the reserved state names. */
int fd_markov_channel_valid(const char *name, size_t len);

/* One transition of a journey; the strings point into the caller's names
 * or at the reserved names above (static). */
typedef struct fd_markov_step {
        const char *from;
        const char *to;
} fd_markov_step;

/* The transitions of a journey of n channels (oldest first), ending in
 * (conversion) when converted != 0, else in (null). Writes at most cap
 * steps and returns how many the journey has: n + 1, or 0 when n == 0 or a
 * channel name is not fd_markov_channel_valid() (then nothing is written).
 * The hash field of a step is from "|" to. */
size_t fd_markov_journey(const char *const *channels, size_t n, int converted,
                         fd_markov_step *steps, size_t cap);

/* A transition count. from/to are spans (not necessarily NUL-terminated):
 * "(start)" or a channel for from, a channel, "(conversion)" or "(null)"
 * for to. */
typedef struct fd_markov_edge {
        const char *from;
        size_t from_len;
        const char *to;
        size_t to_len;
        int64_t count;
} fd_markov_edge;

/* Parses the hash field name field (len bytes) "<from>|<to>" into edge->from
 * and edge->to, which then point into field (count is left alone). Returns
 * 0, or -1 when the field is malformed: not exactly one '|', a side that is
 * not a valid state for its position (see fd_markov_edge), or a journey
 * that could never be recorded, such as "(start)|(null)". */
int fd_markov_field_parse(const char *field, size_t len, fd_markov_edge *edge);

typedef struct fd_markov_channel {
        char *name;            /* NUL-terminated, owned by the result */
        double p_without;      /* P(conversion) with the channel removed */
        double removal_effect; /* 1 - p_without / p_conversion, in [0, 1] */
        double share;          /* removal_effect / sum of removal effects */
} fd_markov_channel;

typedef struct fd_markov_result {
        double p_conversion;         /* from (start); 0 with no data */
        fd_markov_channel *channels; /* sorted by name (byte order) */
        size_t channel_cnt;
        size_t edges_used;    /* edges that entered the chain */
        size_t edges_ignored; /* malformed, count <= 0 */
} fd_markov_result;

/* Builds the chain from edges (any order; duplicates add up; an edge that
 * fd_markov_field_parse() would reject, has a NULL side or a count <= 0 is
 * ignored and counted in edges_ignored) and computes P(conversion) from
 * (start) by solving (I - Q) x = r over the transient states reachable from
 * (start) (Gaussian elimination, partial pivoting). A channel is removed by
 * redirecting every transition into it to (null). A channel with no
 * outgoing count is a dead end (it goes to (null)); channels unreachable
 * from (start) have removal effect 0. Every share is 0 when P(conversion)
 * is 0 or no removal effect is positive; otherwise the shares sum to 1.
 * On success fills *out (free it with fd_markov_result_free()) and returns
 * FD_MARKOV_OK; on error *out is empty, errstr says what went wrong and the
 * return is FD_MARKOV_ENOMEM or FD_MARKOV_ESINGULAR (states reachable from
 * (start) that can never reach (conversion) or (null): the counts are
 * inconsistent). Cost: O(channels^2) memory, O(channels^3) time. */
int fd_markov_compute(const fd_markov_edge *edges, size_t n,
                      fd_markov_result *out, char *errstr, size_t errstr_size);

/* Frees what fd_markov_compute() put into res and empties it; a NULL or
 * already-empty result is fine. */
void fd_markov_result_free(fd_markov_result *res);

/* Splits amount (minor units, >= 0) over res's channels by share into
 * parts (channel_cnt entries, same order) with fd_largest_remainder(): the
 * parts sum exactly to amount. Returns FD_MARKOV_OK, FD_MARKOV_ENOCREDIT
 * when every share is 0 (all parts 0: the caller picks a fallback), or
 * FD_MARKOV_ENOMEM. An amount <= 0 gives all parts 0 and FD_MARKOV_OK. */
int fd_markov_split(const fd_markov_result *res, int64_t amount,
                    int64_t *parts);

#endif
