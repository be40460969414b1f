/* funneld — Redis key names of tenant data (docs/REDIS.md is the contract).
 *
 * All keys of a tenant carry the hash tag {T} so that one tenant lives in one
 * Redis Cluster slot: P:{T}:<kind>:... with P the redis.prefix. The writers
 * below append one key name as an argument to a RESP command; the prefix,
 * tenant and id come with their lengths (fd_sv_of measures a string). */
#ifndef FD_KEYS_H
#define FD_KEYS_H

#include "resp.h"

/* P:{T}:lead:<lead_id> — hash, the lead's state. */
int fd_key_lead(fd_resp *r, fd_sv p, fd_sv t, fd_sv lead);
/* P:{T}:touches:lead:<id> or P:{T}:touches:anon:<id> — zset of touches. */
int fd_key_touches(fd_resp *r, fd_sv p, fd_sv t, int anon, fd_sv id);
/* P:{T}:scores:<lead_id> — zset, the lead's score history. */
int fd_key_scores(fd_resp *r, fd_sv p, fd_sv t, fd_sv lead);
/* P:{T}:alias:<anonymous_id> — string, the lead an anonymous id became. */
int fd_key_alias(fd_resp *r, fd_sv p, fd_sv t, fd_sv anon);
/* P:{T}:anons:<lead_id> — set of the anonymous ids stitched to a lead. */
int fd_key_anons(fd_resp *r, fd_sv p, fd_sv t, fd_sv lead);
/* P:{T}:seen:<event_id> — string with TTL, event id dedupe of layout 1,
 * read after an upgrade until they expire (dedupe.h). */
int fd_key_seen(fd_resp *r, fd_sv p, fd_sv t, fd_sv event_id);

/* P:due:G:<partition>, or P:due:wall:G:<partition> with wall — sorted set,
 * the pending cold deadlines of an input partition (cold.h). */
int fd_key_due(fd_resp *r, const char *p, const char *group, int wall,
               int partition);

#endif
