/* cthreading-bench --matrix: shared options, CSV output and helpers of the
 * workload matrices (bench_matrix.c drives; bench_matrix_lock.c and
 * bench_matrix_handoff.c measure).  The parameters are written down at the
 * top of bench_matrix.c and in --help.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CT_BENCH_MATRIX_H
#define CT_BENCH_MATRIX_H

#include <stdbool.h>
#include <stdio.h>

struct matrix_opts {
    bool quick;
    int rounds;          /* lock/rlock: interleaved rounds per cell (>= 5) */
    double round_s;      /* lock/rlock: seconds per round */
    int runs;            /* handoff: runs per cell, a fresh thread pair each (>= 15) */
    long trips;          /* handoff: round trips per run */
    int max_threads;     /* lock/rlock: largest thread count of the matrix */
    const char *only;    /* handoff: NULL, or run only primitives/placements named here */
    FILE *csv;           /* NULL, or the machine-readable output */
};

/* One CSV line: matrix,case,param,impl,stat,value (the header is written by
 * the driver).  `case` is a workload or primitive, `param` a thread count or
 * a placement, `impl` an implementation or a ratio such as "ct/pthread". */
void matrix_csv(const struct matrix_opts *o, const char *matrix, const char *kase,
                const char *param, const char *impl, const char *stat, double value);

/* Entry point of cthreading-bench --matrix (argv as given to main). */
int matrix_main(int argc, char **argv);

void matrix_lock(const struct matrix_opts *o, bool recursive);
void matrix_handoff(const struct matrix_opts *o);

/* Sorts v and returns its q-quantile (0 <= q <= 1, nearest rank). */
double matrix_quantile(double *v, int n, double q);

/* Pins the calling thread to one CPU; false when the CPU is not available. */
bool matrix_pin(int cpu);

/* Number of CPUs this process may run on. */
int matrix_cpus(void);

/* Keeps a value opaque to the optimiser (it must assume the asm changed it). */
#define matrix_opaque(x) __asm__ __volatile__("" : "+r"(x))

/* One "step": a dependent multiply-add the compiler cannot fold away. */
static inline unsigned matrix_steps(unsigned x, int n)
{
    for (int i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        matrix_opaque(x);
    }
    return x;
}

#endif
