/* SPDX-License-Identifier: MIT */
/* HTTP-dates (RFC 9110 §5.6.7): the three forms recipients must read, and IMF-fixdate, the one
 * form senders may write. Pure functions: no time zone, no locale, no clock. */
#include <string.h>

#include "tether/error.h"

#include "util/http_date.h"
#include "util/str.h"

/* Names are case-sensitive: the grammar spells them with %s"...". */
static const char date_wkdays[] = "MonTueWedThuFriSatSun";
static const char date_months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
static const char *const date_wkdays_long[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                               "Friday", "Saturday", "Sunday"};

struct date_parts {
    int year, month, day, hour, min, sec;
};

/* 1-based index of the three-letter name at s in table, or 0. */
static int date_name3(const char *s, const char *table, int count)
{
    for (int i = 0; i < count; i++) {
        if (memcmp(s, table + 3 * (size_t)i, 3) == 0) {
            return i + 1;
        }
    }
    return 0;
}

static bool date_digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ttx_is_digit(s[i])) {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* time-of-day = hour ":" minute ":" second, each 2DIGIT (ranges are checked later). */
static bool date_time(const char *s, struct date_parts *d)
{
    return date_digits(s, 2, &d->hour) && s[2] == ':' && date_digits(s + 3, 2, &d->min) &&
           s[5] == ':' && date_digits(s + 6, 2, &d->sec);
}

/*
 * The day of the week is checked for syntax only, never against the date (as Go's net/http
 * does): a server with a wrong weekday still means the date it wrote. Second 60 is allowed for
 * leap seconds (RFC 9110 §5.6.7) and lands on the next minute, as POSIX time has no leap seconds.
 */
static int date_to_unix(const struct date_parts *d, int64_t *unix_s)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (d->year % 4 == 0 && d->year % 100 != 0) || d->year % 400 == 0;
    int dim = mdays[d->month - 1] + (d->month == 2 && leap ? 1 : 0);
    if (d->day < 1 || d->day > dim || d->hour > 23 || d->min > 59 || d->sec > 60) {
        return TETHER_EINVAL;
    }
    /* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar and, unlike
     * timegm/mktime, independent of the process's time zone and of non-POSIX extensions. */
    int64_t y = d->year - (d->month <= 2 ? 1 : 0);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (d->month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d->day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    *unix_s = days * 86400 + (int64_t)d->hour * 3600 + (int64_t)d->min * 60 + d->sec;
    return 0;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
static int date_imf(const char *s, size_t len, struct date_parts *d)
{
    if (len != 29 || !date_name3(s, date_wkdays, 7) || memcmp(s + 3, ", ", 2) != 0 ||
        !date_digits(s + 5, 2, &d->day) || s[7] != ' ' ||
        (d->month = date_name3(s + 8, date_months, 12)) == 0 || s[11] != ' ' ||
        !date_digits(s + 12, 4, &d->year) || s[16] != ' ' || !date_time(s + 17, d) ||
        memcmp(s + 25, " GMT", 4) != 0) {
        return TETHER_EINVAL;
    }
    return 0;
}

/* rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT"; `n` is where the comma is. */
static int date_rfc850(const char *s, size_t len, size_t n, struct date_parts *d)
{
    bool named = false;
    for (size_t i = 0; i < sizeof(date_wkdays_long) / sizeof(date_wkdays_long[0]); i++) {
        if (strlen(date_wkdays_long[i]) == n && memcmp(s, date_wkdays_long[i], n) == 0) {
            named = true;
        }
    }
    int yy;
    if (!named || len != n + 24 || s[n + 1] != ' ' || !date_digits(s + n + 2, 2, &d->day) ||
        s[n + 4] != '-' || (d->month = date_name3(s + n + 5, date_months, 12)) == 0 ||
        s[n + 8] != '-' || !date_digits(s + n + 9, 2, &yy) || s[n + 11] != ' ' ||
        !date_time(s + n + 12, d) || memcmp(s + n + 20, " GMT", 4) != 0) {
        return TETHER_EINVAL;
    }
    /* RFC 9110 asks for the century that is not more than 50 years in the future, which
     * depends on the clock. A fixed pivot keeps parsing pure and repeatable: 00-69 are 2000-2069,
     * 70-99 are 1970-1999 (the Unix epoch; no RFC 850 server predates it). */
    d->year = yy < 70 ? 2000 + yy : 1900 + yy;
    return 0;
}

/* asctime-date: "Sun Nov  6 08:49:37 1994"; the day is 2DIGIT or SP DIGIT. */
static int date_asctime(const char *s, size_t len, struct date_parts *d)
{
    if (len != 24 || !date_name3(s, date_wkdays, 7) || s[3] != ' ' ||
        (d->month = date_name3(s + 4, date_months, 12)) == 0 || s[7] != ' ' ||
        !(s[8] == ' ' ? date_digits(s + 9, 1, &d->day) : date_digits(s + 8, 2, &d->day)) ||
        s[10] != ' ' || !date_time(s + 11, d) || s[19] != ' ' ||
        !date_digits(s + 20, 4, &d->year)) {
        return TETHER_EINVAL;
    }
    return 0;
}

int ttx_http_date_parse(const char *v, size_t len, int64_t *unix_s)
{
    struct ttx_slice s = ttx_trim_ows(v, len);
    struct date_parts d = {0};
    int rv;
    /* The comma after the day name tells the forms apart: at 3 it is IMF-fixdate, further on
     * (the longest name, "Wednesday", puts it at 9) RFC 850; without one it can only be asctime. */
    const char *comma = memchr(s.ptr, ',', s.len < 10 ? s.len : 10);
    if (comma != NULL && comma - s.ptr == 3) {
        rv = date_imf(s.ptr, s.len, &d);
    } else if (comma != NULL) {
        rv = date_rfc850(s.ptr, s.len, (size_t)(comma - s.ptr), &d);
    } else {
        rv = date_asctime(s.ptr, s.len, &d);
    }
    if (rv != 0) {
        return rv;
    }
    int64_t t;
    rv = date_to_unix(&d, &t);
    if (rv != 0) {
        return rv;
    }
    *unix_s = t;
    return 0;
}

void ttx_http_date_format(int64_t unix_s, char out[TTX_HTTP_DATE_SIZE])
{
    static const char wk[] = "ThuFriSatSunMonTueWed"; /* 1970-01-01 was a Thursday */
    int64_t days = unix_s >= 0 ? unix_s / 86400 : (unix_s - 86399) / 86400;
    int64_t secs = unix_s - days * 86400;
    /* Howard Hinnant's civil_from_days, the inverse of date_to_unix's days_from_civil. */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    int64_t wd = ((days % 7) + 7) % 7;
    if (year < 0) {
        year = 0; /* IMF-fixdate has four digits; no server clock is that wrong */
    } else if (year > 9999) {
        year = 9999;
    }
    char *p = out;
    memcpy(p, wk + 3 * wd, 3);
    p[3] = ',';
    p[4] = ' ';
    p[5] = (char)('0' + day / 10);
    p[6] = (char)('0' + day % 10);
    p[7] = ' ';
    memcpy(p + 8, date_months + 3 * (month - 1), 3);
    p[11] = ' ';
    p[12] = (char)('0' + year / 1000);
    p[13] = (char)('0' + year / 100 % 10);
    p[14] = (char)('0' + year / 10 % 10);
    p[15] = (char)('0' + year % 10);
    p[16] = ' ';
    int64_t hms[3] = {secs / 3600, secs / 60 % 60, secs % 60};
    for (int i = 0; i < 3; i++) {
        p[17 + 3 * i] = (char)('0' + hms[i] / 10);
        p[18 + 3 * i] = (char)('0' + hms[i] % 10);
        p[19 + 3 * i] = i < 2 ? ':' : ' ';
    }
    memcpy(p + 26, "GMT", 4); /* with the NUL */
}
