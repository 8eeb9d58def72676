/*
 * iso8601.c - ISO 8601 date-times and unix seconds to UTC seconds (iso8601.h).
 *
 * Written by hand rather than with strptime: strptime's %z does not take "Z" or "+02:00" on
 * every libc, and it ignores fractions, which ElectricityMaps sends (".000Z").
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rate/iso8601.h"

/* Read exactly n digits at *s into *out, advancing *s. */
static int digits(const char **s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i]))
            return -1;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

static int fail(const char **why, const char *msg)
{
    if (why != NULL)
        *why = msg;
    return -1;
}

/* "Z", "+HH:MM", "+HHMM" or "+HH": the offset east of UTC in seconds. */
static int zone(const char **s, long *offset_s, const char **why)
{
    int sign, hh, mm = 0;

    if (**s == 'Z' || **s == 'z') {
        (*s)++;
        *offset_s = 0;
        return 0;
    }
    if (**s != '+' && **s != '-')
        return fail(why, "no time zone (add Z or an offset such as +00:00)");
    sign = **s == '-' ? -1 : 1;
    (*s)++;
    if (digits(s, 2, &hh) != 0)
        return fail(why, "bad time zone offset");
    if (**s == ':')
        (*s)++;
    if (isdigit((unsigned char)**s) && digits(s, 2, &mm) != 0)
        return fail(why, "bad time zone offset");
    if (hh > 23 || mm > 59)
        return fail(why, "time zone offset out of range");
    *offset_s = sign * (hh * 3600L + mm * 60L);
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : d[m - 1];
}

int zeus__iso8601_parse_datetime(const char *s, double *unix_s, const char **why)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, sec = 0;
    double frac = 0;
    long offset_s;

    while (isspace((unsigned char)*s))
        s++;
    if (digits(&s, 4, &y) != 0 || *s++ != '-' || digits(&s, 2, &mo) != 0 || *s++ != '-' ||
        digits(&s, 2, &d) != 0)
        return fail(why, "not a date (want YYYY-MM-DDTHH:MM:SSZ)");
    if (*s != 'T' && *s != 't' && *s != ' ')
        return fail(why, "a date without a time (want YYYY-MM-DDTHH:MM:SSZ)");
    s++;
    if (digits(&s, 2, &h) != 0 || *s++ != ':' || digits(&s, 2, &mi) != 0)
        return fail(why, "bad time of day (want HH:MM:SS)");
    if (*s == ':') {
        s++;
        if (digits(&s, 2, &sec) != 0)
            return fail(why, "bad seconds");
        if (*s == '.' || *s == ',') {
            double scale = 0.1;
            s++;
            if (!isdigit((unsigned char)*s))
                return fail(why, "bad fraction of a second");
            for (; isdigit((unsigned char)*s); s++, scale /= 10)
                frac += (*s - '0') * scale;
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
        return fail(why, "date or time out of range");
    if (zone(&s, &offset_s, why) != 0)
        return -1;
    while (isspace((unsigned char)*s))
        s++;
    if (*s != '\0')
        return fail(why, "text after the time zone");
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *unix_s = (double)timegm(&tm) - (double)offset_s + frac;
    return 0;
}

int zeus__iso8601_parse(const char *s, double *unix_s, const char **why)
{
    char *end;
    double v;

    while (isspace((unsigned char)*s))
        s++;
    v = strtod(s, &end);
    if (end != s) {
        while (isspace((unsigned char)*end))
            end++;
        if (*end == '\0') { /* the whole field is a number: unix seconds */
            if (!isfinite(v))
                return fail(why, "unix seconds must be finite");
            *unix_s = v;
            return 0;
        }
    }
    return zeus__iso8601_parse_datetime(s, unix_s, why);
}
