/* funnelctl — calendar helpers (proleptic Gregorian, UTC arithmetic). */
#include "ctl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "funneld/timebucket.h"

int ctl_month_parse(const char *s, ctl_month *m)
{
        if (!s || strlen(s) != 7 || s[4] != '-')
                return -1;
        for (int i = 0; i < 7; i++)
                if (i != 4 && (s[i] < '0' || s[i] > '9'))
                        return -1;
        m->year = atoi(s);
        m->month = atoi(s + 5);
        return m->month >= 1 && m->month <= 12 ? 0 : -1;
}

void ctl_month_format(ctl_month m, char *buf, size_t buf_size)
{
        snprintf(buf, buf_size, "%04d-%02d", m.year, m.month);
}

ctl_month ctl_month_add(ctl_month m, int delta)
{
        int idx = m.year * 12 + (m.month - 1) + delta;
        ctl_month out = {idx / 12, idx % 12 + 1};
        return out;
}

int ctl_month_diff(ctl_month a, ctl_month b)
{
        return (b.year * 12 + b.month) - (a.year * 12 + a.month);
}

int ctl_business_days(const fd_calendar *cal, ctl_month m)
{
        return fd_business_days_in_month(cal, m.year, m.month);
}

void ctl_calendar_note(const fd_calendar *cal, int64_t first, int64_t last,
                       char *buf, size_t buf_size)
{
        static const char *const names[7] = {"Sunday",    "Monday",   "Tuesday",
                                             "Wednesday", "Thursday", "Friday",
                                             "Saturday"};
        int weekend = cal ? cal->weekend : FD_WEEKEND_DEFAULT, n = 0;
        size_t used = 0, holidays = 0;

        used += (size_t)snprintf(buf, buf_size,
                                 "business days follow the tenant's calendar "
                                 "(calendar.weekend, calendar.holidays): "
                                 "weekend ");
        for (int i = 1; i <= 7 && used < buf_size; i++) {
                int d = i % 7; /* Monday first */
                if (!(weekend & (1 << d)))
                        continue;
                used += (size_t)snprintf(buf + used, buf_size - used, "%s%s",
                                         n++ ? ", " : "", names[d]);
        }
        if (!n && used < buf_size)
                used += (size_t)snprintf(buf + used, buf_size - used, "none");
        for (size_t i = 0; cal && i < cal->holiday_cnt; i++) {
                int64_t day = cal->holidays[i];
                holidays += day >= first && day <= last &&
                            !(weekend & (1 << fd_weekday_of(day)));
        }
        if (used < buf_size)
                snprintf(buf + used, buf_size - used,
                         "; %zu holiday%s on weekdays in the period", holidays,
                         holidays == 1 ? "" : "s");
}

/* The wall clock's broken-down time in tz (switches the process's TZ: not
 * for funneld's HTTP thread, see ctl_ctx.utc_clock). */
static void now_in(const char *tz, struct tm *tm)
{
        time_t now = time(NULL);
        if (tz && *tz && strcmp(tz, "UTC") != 0) {
                setenv("TZ", tz, 1);
                tzset();
                localtime_r(&now, tm);
        } else {
                gmtime_r(&now, tm);
        }
}

ctl_month ctl_month_now(const char *tz)
{
        struct tm tm;
        now_in(tz, &tm);
        return (ctl_month){tm.tm_year + 1900, tm.tm_mon + 1};
}

int64_t ctl_today_month(const char *tz, ctl_month *m)
{
        struct tm tm;
        now_in(tz, &tm);
        if (m)
                *m = (ctl_month){tm.tm_year + 1900, tm.tm_mon + 1};
        return fd_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int64_t ctl_today(const char *tz)
{
        return ctl_today_month(tz, NULL);
}

int ctl_day_format(int64_t day, char *buf, size_t buf_size)
{
        return fd_day_format(day, buf, buf_size);
}

int ctl_day_parse_month(const char *s, int64_t *day, ctl_month *m)
{
        int y, mo;
        if (fd_day_parse(s, day, &y, &mo) < 0)
                return -1;
        if (m)
                *m = (ctl_month){y, mo};
        return 0;
}

int ctl_day_parse(const char *s, int64_t *day)
{
        return ctl_day_parse_month(s, day, NULL);
}

void ctl_iso_ms(int64_t ms, char *buf, size_t buf_size)
{
        int64_t days = fd_floor_div(ms, FD_DAY_MS);
        int64_t rem = ms - days * FD_DAY_MS, y;
        int m, d;
        fd_civil_from_days(days, &y, &m, &d);
        snprintf(buf, buf_size, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 (long long)y, m, d, (int)(rem / FD_HOUR_MS),
                 (int)(rem / FD_MINUTE_MS % 60), (int)(rem / 1000 % 60),
                 (int)(rem % 1000));
}

void ctl_iso_ms_tz(const char *tz, int64_t ms, char *buf, size_t buf_size)
{
        time_t secs = (time_t)fd_floor_div(ms, 1000);
        struct tm tm;
        long off;
        if (!tz || !*tz || !strcmp(tz, "UTC")) {
                ctl_iso_ms(ms, buf, buf_size);
                return;
        }
        setenv("TZ", tz, 1);
        tzset();
        if (!localtime_r(&secs, &tm)) {
                ctl_iso_ms(ms, buf, buf_size);
                return;
        }
        off = tm.tm_gmtoff; /* seconds east of UTC */
        snprintf(buf, buf_size,
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02ld:%02ld",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec,
                 (int)(ms - fd_floor_div(ms, 1000) * 1000), off < 0 ? '-' : '+',
                 labs(off) / 3600, labs(off) / 60 % 60);
}
