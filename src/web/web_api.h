/* funneld — the JSON API and the live dashboard page, served by funneld's
 * embedded HTTP server (http.h) next to /metrics.
 *
 *   /, /dashboard   the dashboard page (self-contained HTML, no external
 *                   resources; it reads the API below every 5 s)
 *   /api/tenants    every tenant (P:tenants) with its time zone
 *   /api/funnel     funnelctl report:   tenant, month | from, to
 *   /api/channels   funnelctl channels: tenant, model, month, currency, by
 *   /api/trend      funnelctl trend:    tenant, days, until
 *   /api/cohorts    funnelctl cohorts:  tenant, by, month | from, to
 *   /api/markov     funnelctl markov:   tenant, month
 *   /api/pacing     funnelctl pacing:   tenant, date
 *   /api/velocity   funnelctl velocity: tenant, by
 *   /api/sourcing   funnelctl sourcing: tenant, month | from, to
 *   /api/visitors   funnelctl visitors: tenant, from, to (YYYY-MM-DD)
 *   /api/cold       funnelctl cold:     tenant, month, limit, upcoming (1)
 *   /api/lead       funnelctl lead:     tenant, id
 *   /api/status     funnelctl status
 *
 * Answers are funnelctl's JSON documents. Errors are {"error": "..."} with
 * 400 (bad or missing argument), 404 (unknown tenant or lead), 503 (Redis
 * unreachable or not holding funneld's layout) or 500. Each request opens
 * its own read-only Redis connection. */
#ifndef FD_WEB_API_H
#define FD_WEB_API_H

#include <stddef.h>

#include "funneld/config.h"
#include "http.h"

#define FD_WEB_ROUTE_CNT 15 /* routes */
#define FD_WEB_API_CNT   12 /* of them funnelctl commands */

struct web_cmd;

/* The context of one command route: the config and the command. */
typedef struct fd_web_api {
        const fd_config *conf;
        const struct web_cmd *cmd;
} fd_web_api;

/* Fills routes[0..FD_WEB_ROUTE_CNT) with the API and page routes reading
 * conf's Redis, using apis[0..FD_WEB_API_CNT) as the command routes'
 * contexts (conf and apis must outlive the server; conf is read per
 * request, so changes made before the server starts, like the demo's,
 * apply). Returns the number of routes. */
size_t fd_web_routes(const fd_config *conf, fd_http_route *routes,
                     fd_web_api *apis);

#endif
