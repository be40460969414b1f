/* funneld — Redis key names of tenant data. */
#include "keys.h"

int fd_key_lead(fd_resp *r, const char *p, const char *t, const char *lead)
{
        return fd_resp_fmt(r, "%s:{%s}:lead:%s", p, t, lead);
}

int fd_key_touches(fd_resp *r, const char *p, const char *t, int anon,
                   const char *id)
{
        return fd_resp_fmt(r, "%s:{%s}:touches:%s:%s", p, t,
                           anon ? "anon" : "lead", id);
}

int fd_key_scores(fd_resp *r, const char *p, const char *t, const char *lead)
{
        return fd_resp_fmt(r, "%s:{%s}:scores:%s", p, t, lead);
}

int fd_key_alias(fd_resp *r, const char *p, const char *t, const char *anon)
{
        return fd_resp_fmt(r, "%s:{%s}:alias:%s", p, t, anon);
}

int fd_key_anons(fd_resp *r, const char *p, const char *t, const char *lead)
{
        return fd_resp_fmt(r, "%s:{%s}:anons:%s", p, t, lead);
}

int fd_key_seen(fd_resp *r, const char *p, const char *t, const char *event_id)
{
        return fd_resp_fmt(r, "%s:{%s}:seen:%s", p, t, event_id);
}

int fd_key_due(fd_resp *r, const char *p, const char *group, int wall,
               int partition)
{
        return fd_resp_fmt(r, "%s:due:%s%s:%d", p, wall ? "wall:" : "", group,
                           partition);
}
