/* funneld — Redis key names of tenant data. */
#include "keys.h"

#include <string.h>

/* The key "P:{T}<kind><id>" (kind a literal such as "}:lead:"). */
#define KEY(r, p, t, kind, id) key_of((r), (p), (t), FD_SV(kind), (id))

static int key_of(fd_resp *r, fd_sv p, fd_sv t, fd_sv kind, fd_sv id)
{
        const fd_sv parts[5] = {p, FD_SV(":{"), t, kind, id};
        return fd_resp_join(r, 5, parts);
}

int fd_key_lead(fd_resp *r, fd_sv p, fd_sv t, fd_sv lead)
{
        return KEY(r, p, t, "}:lead:", lead);
}

int fd_key_touches(fd_resp *r, fd_sv p, fd_sv t, int anon, fd_sv id)
{
        return anon ? KEY(r, p, t, "}:touches:anon:", id)
                    : KEY(r, p, t, "}:touches:lead:", id);
}

int fd_key_scores(fd_resp *r, fd_sv p, fd_sv t, fd_sv lead)
{
        return KEY(r, p, t, "}:scores:", lead);
}

int fd_key_alias(fd_resp *r, fd_sv p, fd_sv t, fd_sv anon)
{
        return KEY(r, p, t, "}:alias:", anon);
}

int fd_key_anons(fd_resp *r, fd_sv p, fd_sv t, fd_sv lead)
{
        return KEY(r, p, t, "}:anons:", lead);
}

int fd_key_seen(fd_resp *r, fd_sv p, fd_sv t, fd_sv event_id)
{
        return KEY(r, p, t, "}:seen:", event_id);
}

int fd_key_due(fd_resp *r, const char *p, const char *group, int wall,
               int partition)
{
        return fd_resp_fmt(r, "%s:due:%s%s:%d", p, wall ? "wall:" : "", group,
                           partition);
}
