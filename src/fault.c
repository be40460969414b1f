/* funneld — fault injection for the crash tests. */
#include "fault.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fault_loaded;
static char fault_name[32];
static long fault_due;
static long fault_seen;

static void fault_load(void)
{
        const char *spec = getenv("FUNNELD_FAULT");
        const char *colon = spec ? strchr(spec, ':') : NULL;
        fault_loaded = 1;
        if (!colon || (size_t)(colon - spec) >= sizeof(fault_name))
                return;
        memcpy(fault_name, spec, (size_t)(colon - spec));
        fault_name[colon - spec] = '\0';
        fault_due = strtol(colon + 1, NULL, 10);
}

int fd_fault_armed(const char *point)
{
        if (!fault_loaded)
                fault_load();
        return fault_due > 0 && strcmp(point, fault_name) == 0;
}

void fd_fault_point(const char *point)
{
        if (!fault_loaded)
                fault_load();
        if (fault_due <= 0 || strcmp(point, fault_name) != 0)
                return;
        if (++fault_seen == fault_due)
                kill(getpid(), SIGKILL);
}
