/* A toy interpreter with a GIL: two CPU-bound threads and one I/O-bound
 * thread run bytecode under one ct_gil_t, in both GIL modes.
 *
 * The eval loop calls ct_gil_poll every POLL_EVERY instructions, as CPython's
 * eval loop checks its eval breaker, and releases the GIL around a blocking
 * read (CT_BEGIN/END_ALLOW_THREADS), as a Python file read does.
 *   - Two CPU-bound threads loop: bump the shared counter, bump their own
 *     count, do some arithmetic, until the I/O thread is done.
 *   - The I/O thread reads READS time stamps from a pipe, written every
 *     ~1 ms by a feeder thread that never touches the GIL, and records how
 *     long each took from the write until it held the GIL again.
 * With the default 5 ms switch interval, CT_GIL_CLASSIC (CPython's GIL)
 * shows forced drops between the CPU threads and the convoy effect: a read
 * waits up to an interval for the GIL.  CT_GIL_PRIORITY serves the returning
 * reader at the holder's next poll.  The program prints, per mode, the read
 * latencies of the I/O thread alone, then, with the CPU threads, the
 * switches, forced drops and the read latencies.
 *
 * Check: the shared counter is a plain (non-atomic) variable that only the
 * GIL protects; each thread also counts its own bumps in a local.  If the GIL
 * ever let two threads in at once, updates would be lost and the counter
 * would fall short of the sum of the local counts: the program then exits 1
 * (as it does if any call fails).
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cthreading.h>

#define READS 200            /* time stamps read by the I/O thread */
#define FEED_GAP CT_MS(1)    /* the feeder's pause between two writes */
#define POLL_EVERY 100       /* instructions between GIL polls */
#define WORK 20              /* multiply-adds of one WORK instruction */

enum op { INCR_SHARED, INCR_LOCAL, WORK_OP, JUMP_IF_STOP, READ, JUMP_IF_ZERO, RECORD, JUMP, HALT };
struct insn { enum op op; unsigned arg; };

/* CPU-bound: do { shared++; mine++; work } while (!stop) */
static const struct insn cpu_program[] = {
    /* 0 */ { INCR_SHARED, 0 },
    /* 1 */ { INCR_LOCAL, 0 },
    /* 2 */ { WORK_OP, 0 },
    /* 3 */ { JUMP_IF_STOP, 5 },
    /* 4 */ { JUMP, 0 },
    /* 5 */ { HALT, 0 },
};

/* I/O-bound: while ((t = read()) != 0) { record(now - t); shared++; mine++ } */
static const struct insn io_program[] = {
    /* 0 */ { READ, 0 },
    /* 1 */ { JUMP_IF_ZERO, 6 },
    /* 2 */ { RECORD, 0 },
    /* 3 */ { INCR_SHARED, 0 },
    /* 4 */ { INCR_LOCAL, 0 },
    /* 5 */ { JUMP, 0 },
    /* 6 */ { HALT, 0 },
};

/* Interpreter state: touched only with the GIL held. */
static ct_gil_t gil;
static volatile int64_t shared_counter;   /* volatile: every bump is a real load + store */
static int cpu_stop;                       /* set by the I/O thread when it is done */
static int64_t latency_ns[READS];
static int n_latencies;

struct interp {
    const struct insn *program;
    int fd;                 /* the I/O thread's pipe */
    int64_t mine;           /* this thread's own count of shared bumps */
    int failed;             /* a call failed */
};

static void interpret(struct interp *it)
{
    int64_t reg = 0;
    uint64_t acc = 1;
    unsigned pc = 0, ticks = 0;
    ct_gil_state_t st = ct_gil_ensure(&gil);

    for (;;) {
        const struct insn *i = &it->program[pc++];
        if (++ticks % POLL_EVERY == 0 && ct_gil_poll(&gil) < 0)
            it->failed = 1;                    /* the eval breaker */
        switch (i->op) {
        case INCR_SHARED: shared_counter = shared_counter + 1; break;
        case INCR_LOCAL: it->mine++; break;
        case WORK_OP:
            for (int k = 0; k < WORK; k++)
                acc = acc * 6364136223846793005u + 1442695040888963407u;
            break;
        case JUMP_IF_STOP: if (cpu_stop) pc = i->arg; break;
        case READ: {
            ssize_t got;
            CT_BEGIN_ALLOW_THREADS(&gil)       /* blocking I/O without the GIL */
            got = read(it->fd, &reg, sizeof reg);
            CT_END_ALLOW_THREADS(&gil)
            if (got != (ssize_t)sizeof reg) {
                it->failed = 1;
                reg = 0;
            }
            break;
        }
        case JUMP_IF_ZERO: if (!reg) pc = i->arg; break;
        case RECORD:
            if (n_latencies < READS)
                latency_ns[n_latencies++] = ct_now_ns() - reg;
            break;
        case JUMP: pc = i->arg; break;
        case HALT:
            if (it->program == io_program)
                cpu_stop = 1;                  /* interpreter state: under the GIL */
            if (acc == 0)
                it->failed = 1;                /* keeps the work from being optimised away */
            if (ct_gil_release_state(&gil, st) != CT_OK)
                it->failed = 1;
            return;
        }
    }
}

static void interpreter_thread(void *arg) { interpret(arg); }

static void feeder(void *arg)
{
    int fd = *(int *)arg;
    for (int k = 0; k <= READS; k++) {
        int64_t stamp = k < READS ? ct_now_ns() : 0;   /* 0: stop */
        if (write(fd, &stamp, sizeof stamp) != (ssize_t)sizeof stamp) {
            perror("write");
            abort();
        }
        if (ct_sleep(FEED_GAP) != CT_OK)
            abort();
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One run in `mode`: the I/O thread with `n_cpu` (0 or 2) CPU-bound threads. */
static int run(int mode, int n_cpu)
{
    struct interp cpu[2] = { { cpu_program, -1, 0, 0 }, { cpu_program, -1, 0, 0 } };
    struct interp io = { io_program, -1, 0, 0 };
    ct_thread_t cpu_t[2], io_t, feed_t;
    int fds[2], rc;
    ct_gil_stats_t st;
    int64_t expected;

    if (ct_gil_init(&gil, mode) != CT_OK)
        return 1;
    if (pipe(fds) != 0) {
        perror("pipe");
        return 1;
    }
    io.fd = fds[0];
    shared_counter = 0;
    cpu_stop = 0;
    n_latencies = 0;
    for (int t = 0; t < n_cpu; t++)
        if ((rc = ct_thread_start(&cpu_t[t], interpreter_thread, &cpu[t])) != CT_OK) {
            fprintf(stderr, "ct_thread_start: %s\n", ct_strerror(rc));
            return 1;
        }
    if ((rc = ct_thread_start(&io_t, interpreter_thread, &io)) != CT_OK ||
        (rc = ct_thread_start(&feed_t, feeder, &fds[1])) != CT_OK) {
        fprintf(stderr, "ct_thread_start: %s\n", ct_strerror(rc));
        return 1;
    }
    if (ct_thread_join(&feed_t, CT_FOREVER) != CT_OK || ct_thread_join(&io_t, CT_FOREVER) != CT_OK)
        return 1;
    for (int t = 0; t < n_cpu; t++)
        if (ct_thread_join(&cpu_t[t], CT_FOREVER) != CT_OK)
            return 1;
    ct_gil_stats(&gil, &st);
    close(fds[0]);
    close(fds[1]);
    if (ct_gil_destroy(&gil) != CT_OK)
        return 1;

    expected = cpu[0].mine + cpu[1].mine + io.mine;
    qsort(latency_ns, (size_t)n_latencies, sizeof latency_ns[0], cmp_i64);
    if (n_cpu == 0) {
        printf("%-8s I/O thread alone: %d reads, latency p50 %.3f ms, p90 %.3f ms, max %.3f ms\n",
               mode == CT_GIL_CLASSIC ? "classic" : "priority", n_latencies,
               n_latencies ? (double)latency_ns[n_latencies / 2] / 1e6 : 0.0,
               n_latencies ? (double)latency_ns[n_latencies * 9 / 10] / 1e6 : 0.0,
               n_latencies ? (double)latency_ns[n_latencies - 1] / 1e6 : 0.0);
    } else {
        printf("%-8s with 2 CPU threads: %" PRIu64 " switches, %" PRIu64 " forced drops; CPU "
               "threads did %" PRId64 " + %" PRId64 " bumps; %d reads, latency p50 %.3f ms, "
               "p90 %.3f ms, max %.3f ms\n",
               mode == CT_GIL_CLASSIC ? "classic" : "priority", st.switches, st.forced_drops,
               cpu[0].mine, cpu[1].mine, n_latencies,
               n_latencies ? (double)latency_ns[n_latencies / 2] / 1e6 : 0.0,
               n_latencies ? (double)latency_ns[n_latencies * 9 / 10] / 1e6 : 0.0,
               n_latencies ? (double)latency_ns[n_latencies - 1] / 1e6 : 0.0);
    }
    printf("         shared counter %" PRId64 ", sum of the threads' own counts %" PRId64 ": %s\n",
           (int64_t)shared_counter, expected,
           shared_counter == expected ? "ok, the GIL was exclusive" : "WRONG: updates were lost");
    if (cpu[0].failed || cpu[1].failed || io.failed) {
        fprintf(stderr, "a GIL call or a read failed\n");
        return 1;
    }
    if (n_latencies != READS || io.mine != READS) {
        fprintf(stderr, "the I/O thread read %d of %d stamps\n", n_latencies, READS);
        return 1;
    }
    return shared_counter == expected ? 0 : 1;
}

int main(void)
{
    /* Each mode: the I/O thread alone (the reference latency), then with the
     * two CPU-bound threads. */
    if (run(CT_GIL_CLASSIC, 0) != 0 || run(CT_GIL_CLASSIC, 2) != 0 ||
        run(CT_GIL_PRIORITY, 0) != 0 || run(CT_GIL_PRIORITY, 2) != 0)
        return 1;
    return 0;
}
