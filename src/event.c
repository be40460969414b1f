/* funneld — decoded input events: release and attribute lookup. */
#include <stdlib.h>
#include <string.h>

#include "funneld/event.h"

#include "slab.h"

static void lead_event_clear(fd_lead_event *le)
{
        size_t i;

        free(le->event_id);
        free(le->tenant_id);
        free(le->lead_id);
        free(le->anonymous_id);
        free(le->type);
        free(le->channel);
        free(le->campaign);
        free(le->utm_source);
        free(le->utm_medium);
        free(le->utm_campaign);
        free(le->utm_term);
        free(le->utm_content);
        for (i = 0; i < le->attr_cnt; i++) {
                free(le->attrs[i].key);
                free(le->attrs[i].value);
        }
        free(le->attrs);
}

static void crm_event_clear(fd_crm_event *ce)
{
        free(ce->event_id);
        free(ce->tenant_id);
        free(ce->lead_id);
        free(ce->stage);
        free(ce->opportunity_id);
        free(ce->currency);
        free(ce->owner);
}

static void spend_event_clear(fd_spend_event *se)
{
        free(se->event_id);
        free(se->tenant_id);
        free(se->channel);
        free(se->campaign);
        free(se->day);
        free(se->currency);
}

/* Frees every string ev owns and zeroes ev. */
void fd_event_clear(fd_event *ev)
{
        if (ev->arena_owner)
                fd_slab_release(ev->arena_owner);
        else if (ev->arena)
                free(ev->arena);
        else if (ev->kind == FD_EV_LEAD)
                lead_event_clear(&ev->u.lead);
        else if (ev->kind == FD_EV_CRM)
                crm_event_clear(&ev->u.crm);
        else if (ev->kind == FD_EV_SPEND)
                spend_event_clear(&ev->u.spend);
        memset(ev, 0, sizeof(*ev));
}

/* Returns a pointer owned by le, or NULL. */
const char *fd_lead_event_attr(const fd_lead_event *le, const char *key)
{
        size_t i;

        /* The first bytes first: most keys differ there (no strcmp call;
         * scoring rules and the persona ask several times per event). */
        for (i = 0; i < le->attr_cnt; i++)
                if (le->attrs[i].key && le->attrs[i].key[0] == key[0] &&
                    strcmp(le->attrs[i].key, key) == 0)
                        return le->attrs[i].value;
        return NULL;
}
