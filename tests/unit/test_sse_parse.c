/*
 * test_sse_parse.c - The SSE framing and zeusd's power events (src/monitor/sse_parse.c):
 * events split anywhere across reads, CRLF, keepalive comments, several data lines, an
 * overlong event dropped whole, and GPU/CPU bodies converted to W and seconds, with
 * malformed ones refused (Zeus's test_power_streaming event parsing cases).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "monitor/sse_parse.h"

struct seen {
    char got[8][256];
    int n;
};

static void collect(const char *payload, void *user)
{
    struct seen *s = user;
    if (s->n < 8)
        snprintf(s->got[s->n++], sizeof s->got[0], "%s", payload);
}

static void test_sse_events_split_anywhere(void **state)
{
    const char *text = "data: {\"a\":1}\n\n: keepalive\n\ndata:{\"b\":2}\r\n\r\nevent: x\n"
                       "data: one\ndata: two\n\n";
    (void)state;
    /* every split point gives the same events */
    for (size_t cut = 0; cut <= strlen(text); cut++) {
        struct seen s = {0};
        zeus__sse_parser p;
        zeus__sse_init(&p, collect, &s);
        zeus__sse_feed(&p, text, cut);
        zeus__sse_feed(&p, text + cut, strlen(text) - cut);
        assert_int_equal(s.n, 4);
        assert_string_equal(s.got[0], "{\"a\":1}");
        assert_string_equal(s.got[1], "{\"b\":2}");
        assert_string_equal(s.got[2], "one");
        assert_string_equal(s.got[3], "two");
    }
}

static void test_sse_incomplete_event_waits(void **state)
{
    struct seen s = {0};
    zeus__sse_parser p;
    (void)state;
    zeus__sse_init(&p, collect, &s);
    zeus__sse_feed(&p, "data: {\"a\":1}\n", 14);
    assert_int_equal(s.n, 0); /* no blank line yet */
    zeus__sse_feed(&p, "\n", 1);
    assert_int_equal(s.n, 1);
}

static void test_sse_overlong_event_dropped(void **state)
{
    static char big[3 * ZEUS__SSE_MAX_EVENT];
    struct seen s = {0};
    zeus__sse_parser p;
    (void)state;
    memset(big, 'x', sizeof big);
    memcpy(big, "data: ", 6);
    zeus__sse_init(&p, collect, &s);
    zeus__sse_feed(&p, big, sizeof big);
    zeus__sse_feed(&p, "\n\ndata: ok\n\n", 12);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.got[0], "ok");
}

static void test_sse_gpu_event(void **state)
{
    zeus__sse_power e;
    (void)state;
    assert_int_equal(zeus__sse_gpu_event("{\"timestamp_ms\":1700000000500,\"gpu_id\":3,"
                                         "\"power_mw\":75250}", &e), 0);
    assert_int_equal(e.id, 3);
    assert_true(fabs(e.w - 75.25) < 1e-9);
    assert_true(fabs(e.timestamp_s - 1700000000.5) < 1e-6);
    assert_int_equal(zeus__sse_gpu_event("{\"gpu_id\":3,\"power_mw\":1}", &e), -1);
    assert_int_equal(zeus__sse_gpu_event("{\"timestamp_ms\":1,\"gpu_id\":3}", &e), -1);
    assert_int_equal(zeus__sse_gpu_event("{\"timestamp_ms\":1,\"gpu_id\":-1,\"power_mw\":1}", &e),
                     -1);
    assert_int_equal(zeus__sse_gpu_event("{\"timestamp_ms\":1,\"gpu_id\":\"0\",\"power_mw\":1}",
                                         &e), -1);
    assert_int_equal(zeus__sse_gpu_event("not json", &e), -1);
    assert_int_equal(zeus__sse_gpu_event("[1,2]", &e), -1);
}

static void test_sse_cpu_event(void **state)
{
    zeus__sse_power e;
    (void)state;
    assert_int_equal(zeus__sse_cpu_event("{\"timestamp_ms\":2000,\"cpu_id\":1,\"cpu_mw\":85000,"
                                         "\"dram_mw\":12000}", &e), 0);
    assert_int_equal(e.id, 1);
    assert_true(fabs(e.w - 85.0) < 1e-9);
    assert_true(fabs(e.dram_w - 12.0) < 1e-9);
    assert_true(fabs(e.timestamp_s - 2.0) < 1e-9);
    assert_int_equal(zeus__sse_cpu_event("{\"timestamp_ms\":2000,\"cpu_id\":0,\"cpu_mw\":1000,"
                                         "\"dram_mw\":null}", &e), 0);
    assert_true(isnan(e.dram_w)); /* no DRAM: not measured, not 0 */
    assert_int_equal(zeus__sse_cpu_event("{\"timestamp_ms\":2000,\"cpu_id\":0,\"cpu_mw\":1000}",
                                         &e), 0);
    assert_true(isnan(e.dram_w));
    assert_int_equal(zeus__sse_cpu_event("{\"timestamp_ms\":2000,\"cpu_id\":0,\"dram_mw\":1}",
                                         &e), -1);
    assert_int_equal(zeus__sse_cpu_event("{\"timestamp_ms\":2000,\"cpu_id\":0,\"cpu_mw\":1,"
                                         "\"dram_mw\":\"x\"}", &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_events_split_anywhere),
        cmocka_unit_test(test_sse_incomplete_event_waits),
        cmocka_unit_test(test_sse_overlong_event_dropped),
        cmocka_unit_test(test_sse_gpu_event),
        cmocka_unit_test(test_sse_cpu_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
