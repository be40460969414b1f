/* funneld — decoded input events.
 *
 * An fd_event owns every string it points to; fd_event_clear() releases them
 * and leaves the event zeroed and reusable. Absent optional strings are NULL.
 */
#ifndef FUNNELD_EVENT_H
#define FUNNELD_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum fd_event_kind {
        FD_EV_NONE = 0,
        FD_EV_LEAD = 1,  /* LeadEvent, topic funnel.lead-events */
        FD_EV_CRM = 2,   /* CrmStageEvent, topic funnel.crm-events */
        FD_EV_SPEND = 3, /* SpendEvent, topic funnel.spend */
} fd_event_kind;

#define FD_EV__COUNT 4 /* tables indexed by fd_event_kind */
#define FD_IN_TOPICS 3 /* input topics, indexed by kind - 1 */

/* The length of a decoded event's string, kept by the decoder so that keys
 * are built without strlen(): 0 when the string is absent, empty or longer
 * than UINT16_MAX, and in events built by hand. Read it with fd_ev_len(). */
typedef uint16_t fd_len;

/* The length of event string s whose kept length is n. */
static inline size_t fd_ev_len(const char *s, fd_len n)
{
        return n ? n : s ? strlen(s) : 0;
}

typedef struct fd_attr {
        char *key;
        char *value;
} fd_attr;

typedef struct fd_lead_event {
        char *event_id;
        char *tenant_id;
        int64_t occurred_at; /* event time, ms since epoch (UTC) */
        char *lead_id;       /* NULL for anonymous activity */
        char *anonymous_id;  /* NULL when the tracker had none */
        char *type;          /* page_view, form_submit, identify, ... */
        char *channel;       /* NULL when unknown */
        char *campaign;
        char *utm_source;
        char *utm_medium;
        char *utm_campaign;
        char *utm_term;
        char *utm_content;
        size_t attr_cnt;
        fd_attr *attrs; /* attr_cnt entries, in writer order */
        struct {
                fd_len event_id, tenant_id, lead_id, anonymous_id, type,
                        channel, campaign;
        } len; /* fd_ev_len() */
} fd_lead_event;

typedef struct fd_crm_event {
        char *event_id;
        char *tenant_id;
        int64_t occurred_at;
        char *lead_id;
        char *stage; /* lead, mql, sql, opportunity, closed_won, closed_lost,
                      * recycled */
        char *opportunity_id; /* NULL when absent */
        int has_amount;
        int64_t amount_minor; /* integer minor units, >= 0 */
        char *currency;       /* ISO 4217, NULL when absent */
        char *owner;
        struct {
                fd_len event_id, tenant_id, lead_id, stage;
        } len; /* fd_ev_len() */
} fd_crm_event;

/* Money spent on a channel (and campaign) on one day, as reported by the
 * ad platform or finance. Amounts add up; a correction is a new event with
 * a negative amount. */
typedef struct fd_spend_event {
        char *event_id;
        char *tenant_id;
        int64_t occurred_at; /* when the spend was reported, ms (UTC) */
        char *channel;
        char *campaign; /* NULL when the spend is for the channel as a whole */
        char *day;      /* YYYY-MM-DD, the tenant's calendar day it was spent */
        int has_amount;
        int64_t amount_minor; /* integer minor units; < 0: a correction */
        char *currency;       /* ISO 4217 */
        struct {
                fd_len event_id, tenant_id;
        } len; /* fd_ev_len() */
} fd_spend_event;

typedef struct fd_event {
        fd_event_kind kind;
        char *arena; /* when set, every string and array of the event lives
                        in this one block (the decoder's one-pass reader) */
        void *arena_owner; /* the arena's slab chunk (fd_slab_release);
                            * NULL: the arena was malloc-ed */
        union {
                fd_lead_event lead;
                fd_crm_event crm;
                fd_spend_event spend;
        } u;
} fd_event;

/* Releases the strings of ev and zeroes it. Safe on a zeroed event. */
void fd_event_clear(fd_event *ev);

/* The value of attribute key, or NULL. The pointer stays owned by ev. */
const char *fd_lead_event_attr(const fd_lead_event *le, const char *key);

#endif
