/*
 * us_local_time.h - The local wall-clock time at a place in the United States, from its
 * coordinates alone, for reading a utility's time-of-use schedule (OpenEI's rate database is
 * of US utilities, and its answers name no time zone).
 *
 * An approximation: the zone comes from longitude bands with carve-outs for Arizona (no
 * daylight saving time), Hawaii and Alaska; near a zone line (western Kentucky and Tennessee,
 * the Dakotas, Idaho and Nevada, the Florida panhandle) it can be an hour off. Daylight
 * saving time follows the federal rule since 2007. Pure arithmetic: no TZ, no tzset, so it is
 * thread-safe, unlike localtime_r under a TZ set per call.
 */
#ifndef ZEUS_RATE_US_LOCAL_TIME_H
#define ZEUS_RATE_US_LOCAL_TIME_H

/* Local time at (lat, lon) at `unix_s`. Returns 0 and fills month (1-12), hour (0-23),
 * weekday (0 Monday .. 6 Sunday, as Python's weekday()) and a name ("US/Eastern"), or -1
 * when the place is not in the contiguous US, Alaska or Hawaii. */
int zeus__us_local_time(double unix_s, double lat, double lon, int *month, int *hour,
                        int *weekday, const char **zone);

/* The same fields in UTC (Zeus's reading). */
void zeus__utc_time(double unix_s, int *month, int *hour, int *weekday);

#endif /* ZEUS_RATE_US_LOCAL_TIME_H */
