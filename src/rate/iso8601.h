/*
 * iso8601.h - Reading the timestamps rate sources write: ISO 8601 date-times with a UTC
 * designator or offset ("2024-11-30T06:00:00.000Z", "2024-11-30 06:00:00+02:00"), or unix
 * seconds. A date-time without a zone is refused: guessing the zone would shift every rate.
 */
#ifndef ZEUS_RATE_ISO8601_H
#define ZEUS_RATE_ISO8601_H

/* Parse the whole of `s` (surrounding spaces allowed) into UTC seconds. 0, or -1 with `why`
 * (a static string) set. */
int zeus__iso8601_parse(const char *s, double *unix_s, const char **why);

/* Parse an ISO 8601 date-time only (no unix seconds). Same contract. */
int zeus__iso8601_parse_datetime(const char *s, double *unix_s, const char **why);

#endif /* ZEUS_RATE_ISO8601_H */
