/* funneld — limits on decoded events beyond what the schema says: lengths of
 * the strings that become parts of Redis key names, and amounts that could
 * overflow a Redis counter. An event that breaks one goes to the DLQ as
 * invalid-field. */
#ifndef FD_VALIDATE_H
#define FD_VALIDATE_H

#include <stddef.h>

#include "funneld/event.h"

#define FD_ID_MAX 256 /* bytes: ids, tenant, type, stage, channel, campaign */
/* 10^15 minor units (10 trillion in a 2-decimal currency): any larger deal
 * is a producer bug, and sums of such values could overflow int64. */
#define FD_AMOUNT_MAX 1000000000000000LL

/* 0 when ev is within limits; else -1 with a sentence naming the field and
 * the limit in errstr. A tenant id may only hold ASCII letters, digits, '.',
 * '_' and '-' (it is the hash tag of its keys). */
int fd_validate_limits(const fd_event *ev, char *errstr, size_t errstr_size);

/* attr_value if it may be used as a dimension value (persona) in key names,
 * else NULL: empty or longer than FD_ID_MAX. */
const char *fd_validate_dim(const char *attr_value);

#endif
