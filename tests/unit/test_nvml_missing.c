/*
 * test_nvml_missing.c - Without an NVML library, or with a library that is not NVML, the
 * NVML backend stays closed with a status and detail that say why, and nothing crashes.
 *
 * The library is loaded once per process, so main() points ZEUS_NVML_LIBRARY at a missing
 * path before anything loads it; the "not NVML" case runs in a child process of its own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zeus/zeus.h"

#define MISSING "/nonexistent/libnvidia-ml.so.1"

static zeus_backend_info nvml_backend(const zeus_devices *devs)
{
    zeus_backend_info info;

    for (unsigned i = 0; i < zeus_devices_backend_count(devs); i++) {
        assert_int_equal(zeus_devices_backend_info(devs, i, &info), ZEUS_OK);
        if (strcmp(info.name, "nvml") == 0)
            return info;
    }
    fail_msg("no nvml backend");
    return info;
}

static void test_nvml_missing_library_is_library_not_found(void **state)
{
    zeus_devices *devs;
    zeus_backend_info info;
    double j;
    (void)state;

    assert_int_equal(zeus_devices_create(&devs), ZEUS_OK);
    info = nvml_backend(devs);
    assert_int_equal(info.status, ZEUS_ERR_LIBRARY_NOT_FOUND);
    assert_non_null(strstr(info.detail, MISSING));
    assert_non_null(strstr(info.detail, "No such file")); /* dlerror()'s reason */
    assert_int_equal(info.device_count, 0);
    assert_int_equal(zeus_devices_gpu_count(devs), 0);
    assert_int_equal(zeus_gpu_get_energy(devs, 0, &j), ZEUS_ERR_NOT_FOUND);
    zeus_devices_destroy(devs);
}

static void test_nvml_missing_library_stays_missing_on_reopen(void **state)
{
    zeus_devices *devs;
    (void)state;

    assert_int_equal(zeus_devices_create(&devs), ZEUS_OK);
    assert_int_equal(nvml_backend(devs).status, ZEUS_ERR_LIBRARY_NOT_FOUND);
    zeus_devices_destroy(devs);
}

/*
 * In a child, load a library that is not NVML (the C math library): the backend names the
 * first required function it lacks. Exit status 0 when it behaved.
 */
static int child_loads_non_nvml(void)
{
    zeus_devices *devs;
    zeus_backend_info info;

    setenv("ZEUS_NVML_LIBRARY", "libm.so.6", 1);
    if (zeus_devices_create(&devs) != ZEUS_OK)
        return 1;
    for (unsigned i = 0; i < zeus_devices_backend_count(devs); i++) {
        zeus_devices_backend_info(devs, i, &info);
        if (strcmp(info.name, "nvml") != 0)
            continue;
        zeus_devices_destroy(devs);
        if (info.status != ZEUS_ERR_FUNCTION_NOT_FOUND)
            return 2;
        return strstr(info.detail, "libm.so.6 has no nvmlInit_v2") != NULL ? 0 : 3;
    }
    zeus_devices_destroy(devs);
    return 4;
}

static void test_nvml_library_without_symbols_is_function_not_found(void **state)
{
    int status = 0;
    pid_t pid;
    (void)state;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_loads_non_nvml());
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nvml_library_without_symbols_is_function_not_found),
        cmocka_unit_test(test_nvml_missing_library_is_library_not_found),
        cmocka_unit_test(test_nvml_missing_library_stays_missing_on_reopen),
    };

    setenv("ZEUS_NVML_LIBRARY", MISSING, 1);
    return cmocka_run_group_tests_name("nvml_missing", tests, NULL, NULL);
}
