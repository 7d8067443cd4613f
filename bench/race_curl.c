/* SPDX-License-Identifier: MIT */
/* libcurl in the keep-alive race: users reusing one easy handle each, with idle gaps. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Prints one JSON object like bench/node/race_clients.js: requests, succeeded, failed,
 * errors by message, connections_opened, latency_ms. Usage:
 *   race_curl URL REQUESTS LANES GAP_MIN_MS GAP_MAX_MS SEED */

#define RACE_MAX_ERRORS 16
#define RACE_MAX_SAMPLES 4096

static const char *race_url;
static long race_requests;
static long race_gap_min;
static long race_gap_max;
static unsigned long race_seed;

static pthread_mutex_t race_lock = PTHREAD_MUTEX_INITIALIZER;
static long race_ok;
static long race_failed;
static long race_connects;
static double race_samples[RACE_MAX_SAMPLES];
static size_t race_nsamples;
static struct {
    char msg[128];
    long count;
} race_errors[RACE_MAX_ERRORS];
static size_t race_nerrors;

static size_t race_discard(char *p, size_t size, size_t n, void *u)
{
    (void)p;
    (void)u;
    return size * n;
}

static double race_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void race_note_error(const char *msg)
{
    for (size_t i = 0; i < race_nerrors; i++) {
        if (strcmp(race_errors[i].msg, msg) == 0) {
            race_errors[i].count++;
            return;
        }
    }
    if (race_nerrors < RACE_MAX_ERRORS) {
        snprintf(race_errors[race_nerrors].msg, sizeof(race_errors[0].msg), "%s", msg);
        race_errors[race_nerrors++].count = 1;
    }
}

static void *race_lane(void *arg)
{
    unsigned long state = race_seed + (unsigned long)(uintptr_t)arg * 7919u;
    CURL *h = curl_easy_init();
    if (!h) {
        return NULL;
    }
    curl_easy_setopt(h, CURLOPT_URL, race_url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, race_discard);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    for (long i = 0; i < race_requests; i++) {
        state = state * 6364136223846793005ul + 1442695040888963407ul;
        long span = race_gap_max - race_gap_min + 1;
        long gap = race_gap_min + (long)((state >> 33) % (unsigned long)(span > 0 ? span : 1));
        struct timespec ts = {gap / 1000, (gap % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        double t0 = race_now_ms();
        CURLcode rc = curl_easy_perform(h);
        double took = race_now_ms() - t0;
        long status = 0;
        long connects = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
        pthread_mutex_lock(&race_lock);
        race_connects += connects;
        if (race_nsamples < RACE_MAX_SAMPLES) {
            race_samples[race_nsamples++] = took;
        }
        if (rc == CURLE_OK && status >= 200 && status < 400) {
            race_ok++;
        } else {
            race_failed++;
            race_note_error(rc == CURLE_OK ? "HTTP error status" : curl_easy_strerror(rc));
        }
        pthread_mutex_unlock(&race_lock);
    }
    curl_easy_cleanup(h);
    return NULL;
}

static int race_cmp(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

static double race_pct(double p)
{
    if (race_nsamples == 0) {
        return 0;
    }
    size_t k = (size_t)(p / 100.0 * (double)race_nsamples + 0.999999);
    k = k < 1 ? 1 : (k > race_nsamples ? race_nsamples : k);
    return race_samples[k - 1];
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: race_curl URL REQUESTS LANES GAP_MIN_MS GAP_MAX_MS SEED\n");
        return 2;
    }
    race_url = argv[1];
    race_requests = strtol(argv[2], NULL, 10);
    long lanes = strtol(argv[3], NULL, 10);
    race_gap_min = strtol(argv[4], NULL, 10);
    race_gap_max = strtol(argv[5], NULL, 10);
    race_seed = strtoul(argv[6], NULL, 10);
    if (race_requests < 1 || lanes < 1 || lanes > 64 || race_gap_min < 0 ||
        race_gap_max < race_gap_min) {
        fprintf(stderr, "race_curl: bad arguments\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t threads[64];
    for (long i = 0; i < lanes; i++) {
        pthread_create(&threads[i], NULL, race_lane, (void *)(uintptr_t)i);
    }
    for (long i = 0; i < lanes; i++) {
        pthread_join(threads[i], NULL);
    }
    curl_global_cleanup();
    qsort(race_samples, race_nsamples, sizeof(double), race_cmp);
    printf("{\"client\":\"libcurl\",\"requests\":%ld,\"succeeded\":%ld,\"failed\":%ld,\"errors\":{",
           race_ok + race_failed, race_ok, race_failed);
    for (size_t i = 0; i < race_nerrors; i++) {
        printf("%s\"%s\":%ld", i ? "," : "", race_errors[i].msg, race_errors[i].count);
    }
    printf(
        "},\"retries\":null,\"connections_opened\":%ld,\"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,"
        "\"max\":%.3f}}\n",
        race_connects, race_pct(50), race_pct(99), race_pct(100));
    return 0;
}
