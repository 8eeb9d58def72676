/*
 * us_local_time.c - US local time from coordinates, by arithmetic (us_local_time.h).
 */
#include <math.h>
#include <stdint.h>

#include "rate/us_local_time.h"

/* Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The civil date of a day number (Hinnant's civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* 0 Monday .. 6 Sunday; 1970-01-01 was a Thursday (3). */
static int weekday_of(int64_t days)
{
    int64_t w = (days + 3) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static void fields(double local_s, int *month, int *hour, int *weekday)
{
    double days = floor(local_s / 86400);
    int64_t y;
    int d;

    civil_from_days((int64_t)days, &y, month, &d);
    *hour = (int)floor((local_s - days * 86400) / 3600);
    *weekday = weekday_of((int64_t)days);
}

void zeus__utc_time(double unix_s, int *month, int *hour, int *weekday)
{
    fields(unix_s, month, hour, weekday);
}

/* The day number of the n-th Sunday (n >= 1) of month m of year y. */
static int64_t nth_sunday(int64_t y, int m, int n)
{
    int64_t first = days_from_civil(y, m, 1);
    int to_sunday = (6 - weekday_of(first) + 7) % 7;

    return first + to_sunday + 7 * (n - 1);
}

/* Federal rule since 2007: from 02:00 local standard time on the second Sunday of March to
 * 02:00 local daylight time (01:00 standard) on the first Sunday of November. */
static int in_dst(double unix_s, int std_offset_h)
{
    double std_local = unix_s + std_offset_h * 3600.0;
    int64_t y;
    int m, d;
    double start, end;

    civil_from_days((int64_t)floor(std_local / 86400), &y, &m, &d);
    start = (double)nth_sunday(y, 3, 2) * 86400 + 2 * 3600;
    end = (double)nth_sunday(y, 11, 1) * 86400 + 1 * 3600;
    return std_local >= start && std_local < end;
}

int zeus__us_local_time(double unix_s, double lat, double lon, int *month, int *hour,
                        int *weekday, const char **zone)
{
    int offset, dst = 1;

    if (lat >= 18.5 && lat <= 22.5 && lon >= -161 && lon <= -154) {
        offset = -10, dst = 0, *zone = "US/Hawaii";
    } else if (lat >= 51 && lat <= 72 && (lon <= -129.5 || lon >= 172)) {
        offset = -9, *zone = "US/Alaska";
    } else if (lat < 24.4 || lat > 49.5 || lon < -125 || lon > -66.5) {
        return -1;
    } else if (lon >= -86.5) {
        offset = -5, *zone = "US/Eastern";
    } else if (lon >= -102) {
        offset = -6, *zone = "US/Central";
    } else if (lat >= 31.3 && lat <= 37 && lon >= -114.8 && lon <= -109.05) {
        offset = -7, dst = 0, *zone = "US/Arizona";
    } else if (lon >= -114.05 && !(lat < 42 && lon < -114)) {
        offset = -7, *zone = "US/Mountain";
    } else if (lon >= -117 && lat >= 42 && lat < 46) {
        offset = -7, *zone = "US/Mountain"; /* southern Idaho, eastern Oregon's corner */
    } else {
        offset = -8, *zone = "US/Pacific";
    }
    if (dst && in_dst(unix_s, offset))
        offset += 1;
    fields(unix_s + offset * 3600.0, month, hour, weekday);
    return 0;
}
