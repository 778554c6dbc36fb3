/* The built-in runner (see mini_criterion.h).
 *
 * The watchdog is a library thread doing a timed acquire on a Lock the test
 * holds; if the acquire times out the test has hung and the run is ended
 * (ctest's own TIMEOUT is the backstop should the library itself be broken).
 *
 * SPDX-License-Identifier: MIT
 */
#include "mini_criterion.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cthreading.h>

#define DEFAULT_TIMEOUT_S 60.0

static struct ct_test_desc *head;
static jmp_buf test_exit;
static uint64_t test_thread;
static bool current_failed;
static const struct ct_test_desc *current;
static unsigned passed, failed;

/* Keeps the list sorted by suite, then name — Criterion's order — whatever
 * order the toolchain runs the registering constructors in (mingw runs them
 * in reverse). */
void ct_test_register(struct ct_test_desc *d)
{
    struct ct_test_desc **p = &head;
    while (*p != NULL) {
        int c = strcmp((*p)->suite, d->suite);
        if (c > 0 || (c == 0 && strcmp((*p)->name, d->name) > 0))
            break;
        p = &(*p)->next;
    }
    d->next = *p;
    *p = d;
}

void ct_test_check(bool ok, bool fatal, const char *expr, const char *file, int line,
                   const char *fmt, ...)
{
    va_list ap;

    if (ok)
        return;
    fprintf(stderr, "[FAIL] %s::%s: %s:%d: assertion failed: %s", current ? current->suite : "?",
            current ? current->name : "?", file, line, expr);
    if (fmt[0] != '\0') {
        fputs(": ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    fflush(stderr);
    current_failed = true;
    if (!fatal)
        return;
    if (ct_thread_ident() != test_thread) {
        fprintf(stderr, "[FAIL] fatal assertion outside the test's thread: aborting\n");
        abort();
    }
    longjmp(test_exit, 1);
}

struct watchdog {
    ct_lock_t done;          /* held by the runner while the test runs */
    double seconds;
};

static void watchdog_main(void *arg)
{
    struct watchdog *w = arg;
    if (ct_lock_acquire_timed(&w->done, (int64_t)(w->seconds * 1e9)) == CT_ETIMEDOUT) {
        char what[64];
        snprintf(what, sizeof what, "timed out after %.0f s", w->seconds);
        ct_test_died(what, 1);
    }
    ct_lock_release(&w->done);
}

void ct_test_died(const char *what, int status)
{
    fflush(stdout);
    fprintf(stderr, "[FAIL] %s::%s: %s\n", current ? current->suite : "?",
            current ? current->name : "?", what);
    fprintf(stderr, "%u passed, %u failed\n", passed, failed + 1);
    fflush(stderr);
    _Exit(status);
}

static bool selected(const struct ct_test_desc *d, const char *filter)
{
    char full[256];
    if (filter == NULL)
        return true;
    snprintf(full, sizeof full, "%s/%s", d->suite, d->name);
    return strstr(full, filter) != NULL;
}

int main(int argc, char **argv)
{
    const char *filter = NULL;

    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--filter=", 9) == 0)
            filter = argv[i] + 9;
        else if (strcmp(argv[i], "--list") == 0) {
            for (struct ct_test_desc *d = head; d; d = d->next)
                printf("%s/%s\n", d->suite, d->name);
            return 0;
        }
    }
    ct_test_os_init();
    test_thread = ct_thread_ident();
    for (struct ct_test_desc *d = head; d; d = d->next) {
        struct watchdog w = { .done = CT_LOCK_INIT };
        ct_thread_t dog;

        if (d->disabled || !selected(d, filter))
            continue;
        current = d;
        current_failed = false;
        w.seconds = d->timeout > 0 ? d->timeout : DEFAULT_TIMEOUT_S;
        ct_lock_acquire(&w.done);
        /* A daemon, so that tests of ct_threading_shutdown do not wait for it. */
        if (ct_thread_start_ex(&dog, &(ct_thread_options_t){ .name = "ct-test-watchdog",
                                                             .daemon = true },
                               watchdog_main, &w) != CT_OK) {
            fprintf(stderr, "runner: cannot start the watchdog thread\n");
            return 2;
        }
        if (setjmp(test_exit) == 0) {
            if (d->init)
                d->init();
            d->fn();
        }
        if (d->fini)
            d->fini();
        ct_lock_release(&w.done);
        ct_thread_join(&dog, CT_FOREVER);
        if (current_failed) {
            failed++;
            fprintf(stderr, "[FAIL] %s::%s\n", d->suite, d->name);
        } else {
            passed++;
            fprintf(stderr, "[PASS] %s::%s\n", d->suite, d->name);
        }
    }
    fprintf(stderr, "%u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
