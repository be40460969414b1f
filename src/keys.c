/* funneld — Redis key names of tenant data. */
#include "keys.h"

/* The key of the strings given, joined. */
#define JOIN(r, ...)                                                           \
        fd_resp_join((r),                                                      \
                     sizeof((const char *[]){__VA_ARGS__}) /                   \
                             sizeof(const char *),                             \
                     (const char *[]){__VA_ARGS__})

int fd_key_lead(fd_resp *r, const char *p, const char *t, const char *lead)
{
        return JOIN(r, p, ":{", t, "}:lead:", lead);
}

int fd_key_touches(fd_resp *r, const char *p, const char *t, int anon,
                   const char *id)
{
        return JOIN(r, p, ":{", t,
                    anon ? "}:touches:anon:" : "}:touches:lead:", id);
}

int fd_key_scores(fd_resp *r, const char *p, const char *t, const char *lead)
{
        return JOIN(r, p, ":{", t, "}:scores:", lead);
}

int fd_key_alias(fd_resp *r, const char *p, const char *t, const char *anon)
{
        return JOIN(r, p, ":{", t, "}:alias:", anon);
}

int fd_key_anons(fd_resp *r, const char *p, const char *t, const char *lead)
{
        return JOIN(r, p, ":{", t, "}:anons:", lead);
}

int fd_key_seen(fd_resp *r, const char *p, const char *t, const char *event_id)
{
        return JOIN(r, p, ":{", t, "}:seen:", event_id);
}

int fd_key_due(fd_resp *r, const char *p, const char *group, int wall,
               int partition)
{
        return fd_resp_fmt(r, "%s:due:%s%s:%d", p, wall ? "wall:" : "", group,
                           partition);
}
