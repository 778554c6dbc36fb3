/* Error codes, ct_strerror and the timeout conventions shared by every module. */
#include <stdio.h>
#include <string.h>
#include "ct_test.h"

Test(base, codes_have_fixed_values)
{
    cr_assert_eq(CT_OK, 0);
    cr_assert_eq(CT_ETIMEDOUT, -1);
    cr_assert_eq(CT_EPERM, -2);
    cr_assert_eq(CT_EINVAL, -3);
    cr_assert_eq(CT_EBROKEN, -4);
    cr_assert_eq(CT_EOVERFLOW, -5);
    cr_assert_eq(CT_ENOMEM, -6);
    cr_assert_eq(CT_EDEADLK, -7);
    cr_assert_eq(CT_EAGAIN, -8);
    cr_assert_eq(CT_EBUSY, -9);
    cr_assert_eq(CT_ESHUTDOWN, -10);
    cr_assert_eq(CT_ECANCELLED, -11);
    cr_assert_eq(CT_EOWNERDEAD, -12);
    cr_assert_eq(CT_ENOTSUP, -13);
    cr_assert_eq(CT_FOREVER, -1);
    cr_assert_eq(CT_TIMEOUT_MAX, INT64_C(9223372036000000000));
    cr_assert_eq(CT_MS(3), INT64_C(3000000));
    cr_assert_eq(CT_US(3), INT64_C(3000));
    cr_assert_eq(CT_SEC(3), INT64_C(3000000000));
}

Test(base, strerror_names_every_code_distinctly)
{
    int codes[] = { CT_OK, CT_ETIMEDOUT, CT_EPERM, CT_EINVAL, CT_EBROKEN,
                    CT_EOVERFLOW, CT_ENOMEM, CT_EDEADLK, CT_EAGAIN,
                    CT_EBUSY, CT_ESHUTDOWN, CT_ECANCELLED, CT_EOWNERDEAD, CT_ENOTSUP };
    size_t n = sizeof codes / sizeof codes[0];
    const char *unknown = ct_strerror(-1000);

    cr_assert_not_null(unknown);
    cr_assert_not_null(strstr(unknown, "unknown"));
    for (size_t i = 0; i < n; i++) {
        const char *s = ct_strerror(codes[i]);
        cr_assert_not_null(s);
        cr_assert_neq(strcmp(s, unknown), 0, "code %d has no name", codes[i]);
        for (size_t j = 0; j < i; j++)
            cr_assert_neq(strcmp(s, ct_strerror(codes[j])), 0);
    }
    cr_assert_not_null(strstr(ct_strerror(CT_ETIMEDOUT), "CT_ETIMEDOUT"));
    cr_assert_eq(strcmp(ct_strerror(42), unknown), 0);
}

Test(base, timeout_validation_is_shared)
{
    uint32_t word = 7;
    /* ct_wait is the plainest timed call; every module uses the same check. */
    cr_assert_eq(ct_wait(&word, 7, -2), CT_EINVAL);
    cr_assert_eq(ct_wait(&word, 7, INT64_MIN), CT_EINVAL);
    cr_assert_eq(ct_wait(&word, 7, CT_TIMEOUT_MAX + 1), CT_EOVERFLOW);
    cr_assert_eq(ct_wait(&word, 7, INT64_MAX), CT_EOVERFLOW);
    cr_assert_eq(ct_wait(&word, 8, CT_TIMEOUT_MAX), CT_OK);   /* valid, value differs */
    cr_assert_eq(ct_wait(&word, 7, 0), CT_ETIMEDOUT);
    cr_assert_eq(word, 7u);
}

Test(base, version_macros_match_the_library)
{
    char expected[32];
    cr_assert_not_null(ct_version());
    cr_assert_str_eq(ct_version(), CT_VERSION_STRING);
    snprintf(expected, sizeof expected, "%d.%d.%d", CT_VERSION_MAJOR, CT_VERSION_MINOR,
             CT_VERSION_PATCH);
    cr_assert_str_eq(CT_VERSION_STRING, expected);
    cr_assert_eq(CT_VERSION_NUMBER,
                 CT_VERSION_MAJOR * 10000 + CT_VERSION_MINOR * 100 + CT_VERSION_PATCH);
    cr_assert(CT_VERSION_NUMBER >= 200, "this API (ct_version) arrived in 0.2.0");
}
