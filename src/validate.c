/* funneld — limits on decoded events. */
#include "validate.h"

#include <stdio.h>
#include <string.h>

/* 1 when every byte of s is one of FD_TENANT_CHARS (strspn with a set
 * that long is a slow generic loop in glibc, per event). */
static int tenant_chars_only(const char *s)
{
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                      c == '-'))
                        return 0;
        }
        return 1;
}

int fd_validate_limits(const fd_event *ev, char *errstr, size_t errstr_size)
{
        const char *names[] = {"event_id",     "tenant_id", "lead_id",
                               "anonymous_id", "type",      "channel",
                               "campaign",     "stage",     "opportunity_id",
                               "currency"};
        const char *vals[10] = {0};
        fd_len lens[10] = {0}; /* the decoder's (fd_ev_len) */
        if (ev->kind == FD_EV_LEAD) {
                const fd_lead_event *le = &ev->u.lead;
                const char *v[] = {le->event_id,     le->tenant_id, le->lead_id,
                                   le->anonymous_id, le->type,      le->channel,
                                   le->campaign};
                const fd_len n[] = {le->len.event_id, le->len.tenant_id,
                                    le->len.lead_id,  le->len.anonymous_id,
                                    le->len.type,     le->len.channel,
                                    le->len.campaign};
                memcpy(vals, v, sizeof(v));
                memcpy(lens, n, sizeof(n));
        } else if (ev->kind == FD_EV_CRM) {
                const fd_crm_event *ce = &ev->u.crm;
                vals[0] = ce->event_id;
                vals[1] = ce->tenant_id;
                vals[2] = ce->lead_id;
                vals[7] = ce->stage;
                lens[0] = ce->len.event_id;
                lens[1] = ce->len.tenant_id;
                lens[2] = ce->len.lead_id;
                lens[7] = ce->len.stage;
                vals[8] = ce->opportunity_id;
                vals[9] = ce->currency;
                if (ce->has_amount && ce->amount_minor > FD_AMOUNT_MAX) {
                        snprintf(errstr, errstr_size,
                                 "field 'amount_minor' is %lld, above the "
                                 "limit of %lld minor units; check the "
                                 "producer's units",
                                 (long long)ce->amount_minor, FD_AMOUNT_MAX);
                        return -1;
                }
        } else if (ev->kind == FD_EV_SPEND) {
                const fd_spend_event *se = &ev->u.spend;
                vals[0] = se->event_id;
                vals[1] = se->tenant_id;
                lens[0] = se->len.event_id;
                lens[1] = se->len.tenant_id;
                vals[5] = se->channel;
                vals[6] = se->campaign;
                vals[9] = se->currency;
                if (se->amount_minor > FD_AMOUNT_MAX ||
                    se->amount_minor < -FD_AMOUNT_MAX) {
                        snprintf(errstr, errstr_size,
                                 "field 'amount_minor' is %lld, beyond the "
                                 "limit of +/-%lld minor units; check the "
                                 "producer's units",
                                 (long long)se->amount_minor, FD_AMOUNT_MAX);
                        return -1;
                }
        }
        /* The tenant id is the Redis Cluster hash tag of every key of the
         * tenant: '{', '}' or ':' in it could name another tenant's keys. */
        if (vals[1] && !tenant_chars_only(vals[1])) {
                snprintf(errstr, errstr_size,
                         "field 'tenant_id' ('%.64s') may only contain "
                         "letters, digits, '.', '_' and '-'",
                         vals[1]);
                return -1;
        }
        for (int i = 0; i < 10; i++)
                if (vals[i] && fd_ev_len(vals[i], lens[i]) > FD_ID_MAX) {
                        snprintf(errstr, errstr_size,
                                 "field '%s' is %zu bytes long, above the "
                                 "limit of %d; ids and names must be short "
                                 "strings",
                                 names[i], strlen(vals[i]), FD_ID_MAX);
                        return -1;
                }
        return 0;
}

const char *fd_validate_dim(const char *attr_value)
{
        if (!attr_value || !*attr_value || strlen(attr_value) > FD_ID_MAX)
                return NULL;
        return attr_value;
}
