/* A toy interpreter with a GIL: several threads run the same bytecode loop.
 *
 * Each interpreter thread executes a small program: read a number from its
 * pipe (a blocking read, done with the GIL released, like a Python file
 * read), sum 1..n with a bytecode loop, add the result to a global shared by
 * all threads, and repeat until it reads 0.  The loop calls ct_gil_poll every
 * POLL_EVERY instructions, as CPython's eval loop checks its eval breaker, so
 * the threads take turns by the switch interval.  A feeder thread (not an
 * interpreter thread: it never takes the GIL) writes the numbers into the
 * pipes.  The program checks the global total and exits 0 if it is right.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cthreading.h>

#define THREADS 4
#define NUMBERS 200          /* numbers fed to each thread */
#define POLL_EVERY 200       /* instructions between GIL polls */

enum op { READ, PUSH, ADD_TO_ACC, DEC, JUMP_IF_NONZERO, STORE_GLOBAL, JUMP_IF_ZERO, JUMP, HALT };
struct insn { enum op op; int64_t arg; };

/* acc = 0; loop: n = read(); if n == 0 halt; do { acc += n; n-- } while n; global += acc */
static const struct insn program[] = {
    /* 0 */ { READ, 0 },              /* reg = read()                          */
    /* 1 */ { JUMP_IF_ZERO, 8 },      /* if reg == 0: halt                     */
    /* 2 */ { PUSH, 0 },              /* acc = 0                               */
    /* 3 */ { ADD_TO_ACC, 0 },        /* acc += reg                            */
    /* 4 */ { DEC, 0 },               /* reg--                                 */
    /* 5 */ { JUMP_IF_NONZERO, 3 },   /* while reg                             */
    /* 6 */ { STORE_GLOBAL, 0 },      /* global += acc (needs the GIL)         */
    /* 7 */ { JUMP, 0 },
    /* 8 */ { HALT, 0 },
};

static ct_gil_t gil;
static int64_t global_total;  /* interpreter state: touched only with the GIL */
static int pipes[THREADS][2];

static void interpret(int fd)
{
    int64_t reg = 0, acc = 0;
    unsigned pc = 0, ticks = 0;
    ct_gil_state_t st = ct_gil_ensure(&gil);

    for (;;) {
        const struct insn *i = &program[pc++];
        if (++ticks % POLL_EVERY == 0)
            ct_gil_poll(&gil);                 /* the eval breaker */
        switch (i->op) {
        case READ:
            CT_BEGIN_ALLOW_THREADS(&gil)       /* blocking I/O without the GIL */
            if (read(fd, &reg, sizeof reg) != (ssize_t)sizeof reg)
                reg = 0;
            CT_END_ALLOW_THREADS(&gil)
            break;
        case PUSH: acc = i->arg; break;
        case ADD_TO_ACC: acc += reg; break;
        case DEC: reg--; break;
        case JUMP_IF_NONZERO: if (reg) pc = (unsigned)i->arg; break;
        case JUMP_IF_ZERO: if (!reg) pc = (unsigned)i->arg; break;
        case JUMP: pc = (unsigned)i->arg; break;
        case STORE_GLOBAL: global_total += acc; break;
        case HALT:
            ct_gil_release_state(&gil, st);
            return;
        }
    }
}

static void interpreter_thread(void *arg) { interpret(*(int *)arg); }

static void feeder(void *arg)
{
    (void)arg;
    for (int64_t k = 1; k <= NUMBERS; k++)
        for (int t = 0; t < THREADS; t++) {
            int64_t n = 500 + k * 10 + t;
            if (write(pipes[t][1], &n, sizeof n) != (ssize_t)sizeof n)
                abort();
        }
    for (int t = 0; t < THREADS; t++) {
        int64_t zero = 0;
        if (write(pipes[t][1], &zero, sizeof zero) != (ssize_t)sizeof zero)
            abort();
    }
}

int main(void)
{
    int modes[] = { CT_GIL_CLASSIC, CT_GIL_PRIORITY };
    for (int m = 0; m < 2; m++) {
        ct_thread_t threads[THREADS], feed;
        int fds[THREADS];
        int64_t expected = 0;
        ct_gil_stats_t st;

        if (ct_gil_init(&gil, modes[m]) != CT_OK)
            return 1;
        ct_gil_set_switch_interval(&gil, CT_MS(1));
        global_total = 0;
        for (int t = 0; t < THREADS; t++) {
            if (pipe(pipes[t]) != 0)
                return 1;
            fds[t] = pipes[t][0];
            for (int64_t k = 1; k <= NUMBERS; k++) {
                int64_t n = 500 + k * 10 + t;
                expected += n * (n + 1) / 2;
            }
        }
        for (int t = 0; t < THREADS; t++)
            ct_thread_start(&threads[t], interpreter_thread, &fds[t]);
        ct_thread_start(&feed, feeder, NULL);
        ct_thread_join(&feed, CT_FOREVER);
        for (int t = 0; t < THREADS; t++)
            ct_thread_join(&threads[t], CT_FOREVER);
        ct_gil_stats(&gil, &st);
        printf("%-8s total %lld (expected %lld): %s; %llu switches, %llu forced drops, "
               "max wait %.2f ms\n", m == 0 ? "classic" : "priority", (long long)global_total,
               (long long)expected, global_total == expected ? "ok" : "WRONG",
               (unsigned long long)st.switches, (unsigned long long)st.forced_drops,
               (double)st.wait_max_ns / 1e6);
        for (int t = 0; t < THREADS; t++) {
            close(pipes[t][0]);
            close(pipes[t][1]);
        }
        ct_gil_destroy(&gil);
        if (global_total != expected)
            return 1;
    }
    return 0;
}
