/* funneld — one lead's state as held in memory during a batch and stored in
 * the hash P:{T}:lead:<lead_id>.
 *
 * Hash fields: stage, cycle, fit, engagement, created_at, created_event,
 * source_channel, source_campaign, persona, opportunity_id, updated_at,
 * entered:<stage> (ms, this cycle), implied:<stage> (1), rule:<name> (points
 * awarded this cycle; absent when 0), awards (scoring.decay = expire:
 * AT:POINTS,...), cold (the stage, mql or sql, whose cold alert fired;
 * removed when the lead leaves it), history_bound ("T,S": see touches_max
 * below). */
#ifndef FD_LEAD_H
#define FD_LEAD_H

#include <hiredis/hiredis.h>
#include <stdint.h>

#include "funneld/config.h"
#include "funneld/lifecycle.h"
#include "resp.h"

/* The lead's string fields, in hash order (fd_lead_set). */
typedef enum fd_lead_str {
        FD_LEAD_CREATED_EVENT,
        FD_LEAD_SOURCE_CHANNEL,
        FD_LEAD_SOURCE_CAMPAIGN,
        FD_LEAD_PERSONA,
        FD_LEAD_OPPORTUNITY_ID,
        FD_LEAD_AWARDS,
        FD_LEAD_STR__COUNT
} fd_lead_str;

/* The lead's fields as Redis holds them (after its load or its last save),
 * so that a save writes only what changed. Strings are not copied: the
 * lead marks the ones set since (fd_lead.str_changed). */
typedef struct fd_lead_stored {
        int full; /* next save writes every field: a new lead (HSET), or
                     one whose hash has fields this config does not know or
                     lacks some (DEL + HSET) */
        fd_lifecycle lc;
        int32_t fit;
        int32_t engagement;
        int32_t *awarded;
        int64_t created_at;
        int64_t updated_at;
        fd_stage cold;
        unsigned str_was; /* bit 1 << fd_lead_str: the string is in the hash */
        int32_t touches_max, scores_max; /* history_bound, -1: none */
} fd_lead_stored;

typedef struct fd_lead {
        char *tenant_id;
        char *lead_id;
        size_t tenant_len, lead_len; /* strlen of the two */
        const fd_tenant_conf *tconf; /* scoring model of its tenant */
        int exists;                  /* was stored in Redis before */
        int dirty;                   /* changed in this batch */
        fd_lifecycle lc;
        int32_t fit;
        int32_t engagement;
        int32_t *awarded; /* tconf->score.rule_cnt entries */
        int64_t created_at;
        char *created_event;  /* event that first carried the lead id */
        char *source_channel; /* channel of that event */
        char *source_campaign;
        char *persona;
        char *opportunity_id;
        char *awards; /* scoring.decay = expire: the points of each event
                       * (fd_score_award()); NULL otherwise */
        int64_t updated_at;
        fd_stage cold; /* its cold alert fired in this stage; NONE: not */
        /* Upper bounds of the members of its touches and score-history
         * zsets (hash field history_bound, "T,S"; -1 unknown: a hash
         * without it, written before funneld kept it, until the reads of
         * their sizes answer, process.c): a lead new to Redis starts at 0,
         * so its zsets are trimmed only when they can exceed
         * processing.touch_max. The field is written in the transaction
         * that adds the members, so a hash read back has the bound of the
         * zsets read with it. */
        int32_t touches_max, scores_max;
        /* The anonymous id last stitched to it by a batch written or to be
         * (memory only; NULL: none known): an event repeating it needs no
         * SET NX of the alias and SADD to anons again. */
        char *stitched;
        /* Memory only, process.c's: its entry (+ 1; 0: none) in the lead
         * cache's current generation when taken from there, while the
         * cache's moves count was cache_move. */
        size_t cache_at;
        uint64_t cache_move;
        unsigned str_changed; /* bit 1 << fd_lead_str: set since the last
                               * load or save (fd_lead_set, fd_lead_mark) */
        fd_lead_stored stored;
} fd_lead;

/* A lead's tenant id and lead id with their lengths. */
#define FD_LEAD_TENANT(lead) ((fd_sv){(lead)->tenant_id, (lead)->tenant_len})
#define FD_LEAD_ID(lead)     ((fd_sv){(lead)->lead_id, (lead)->lead_len})

/* A new, empty lead; the caller owns it (fd_lead_destroy). */
fd_lead *fd_lead_new(const char *tenant_id, const char *lead_id,
                     const fd_tenant_conf *tconf);
void fd_lead_destroy(fd_lead *lead);

/* Fills lead from an HGETALL reply (empty array: lead stays new). */
int fd_lead_load(fd_lead *lead, const redisReply *reply);

/* Appends the writes that make the stored hash equal the state to r (key
 * under prefix): HSET of the changed fields and HDEL of the removed ones,
 * or HSET of everything when stored.full (after a DEL when the hash
 * existed). Then takes the state as
 * stored: if the batch's EXEC does not succeed, the caller must drop the
 * lead (fd_processor forgets every lead then). */
int fd_lead_save(fd_lead *lead, fd_sv prefix, fd_resp *r);

/* The lead hash's field "entered:<stage>" (implied 0) or
 * "implied:<stage>" (implied 1); NULL for FD_STAGE_NONE or no stage. */
const char *fd_lead_stage_field(int implied, fd_stage stage);

/* Replaces *dst by a copy of src (NULL allowed). */
void fd_str_set(char **dst, const char *src);

/* Sets the lead's string field f to a copy of v (NULL: none), marking it
 * changed when it differs; a save writes only the marked ones. */
void fd_lead_set(fd_lead *lead, fd_lead_str f, const char *v);

/* Marks string field f changed in place (the awards list, by the scoring
 * functions). */
void fd_lead_mark(fd_lead *lead, fd_lead_str f);

#endif
