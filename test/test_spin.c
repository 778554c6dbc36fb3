/* The spin-then-park policy of internal/spin.h (white-box, no threads):
 * halving below the minimum turns spinning off, probes come after 1, 2, 4,
 * ... waits up to CT__SPIN_PROBE_MAX, a probe answered during its spin turns
 * spinning back on, and no sequence of outcomes keeps probes away for more
 * than CT__SPIN_PROBE_MAX waits; a fresh thread starts from what the
 * threads before it learned (CT__SPIN_POLICY's seed). */
#include "ct_test.h"
#include "internal/spin.h"

static const struct ct__spin_bounds B = { 8u, 500u };

/* Reports a lost spin for every wait until spinning is off; returns how
 * many waits that took. */
static int lose_until_off(struct ct__spin *s)
{
    int waits = 0;
    while (s->budget > 0) {
        cr_assert_gt(ct__spin_rounds(s, B), 0u);
        ct__spin_slept(s, B);
        waits++;
        cr_assert_lt(waits, 64, "spinning never turned off");
    }
    return waits;
}

/* Counts the waits up to and including the next probe, losing them all. */
static unsigned waits_to_probe(struct ct__spin *s)
{
    for (unsigned n = 1;; n++) {
        unsigned r = ct__spin_rounds(s, B);
        ct__spin_slept(s, B);
        if (r > 0) {
            cr_assert_eq(r, B.max, "a probe spins the maximum");
            return n;
        }
        cr_assert_lt(n, 10 * CT__SPIN_PROBE_MAX, "no probe");
    }
}

Test(spin, starts_at_max_and_halves_to_off)
{
    struct ct__spin s = CT__SPIN_START(500u);
    cr_assert_eq(ct__spin_rounds(&s, B), 500u);
    ct__spin_slept(&s, B);
    cr_assert_eq(s.budget, 250u);
    /* 250, 125, 62, 31, 15, then 7 < 8: off. */
    cr_assert_eq(lose_until_off(&s), 5);
    cr_assert_eq(s.budget, 0u);
}

Test(spin, probes_back_off_exponentially_up_to_the_cap)
{
    struct ct__spin s = CT__SPIN_START(500u);
    unsigned expect = 1;
    lose_until_off(&s);
    for (int k = 0; k < 14; k++) {
        cr_assert_eq(waits_to_probe(&s), expect, "probe %d", k);
        if (expect < CT__SPIN_PROBE_MAX)
            expect *= 2;
    }
    cr_assert_eq(expect, CT__SPIN_PROBE_MAX);
}

Test(spin, waits_without_spin_change_nothing)
{
    struct ct__spin s = CT__SPIN_START(500u);
    lose_until_off(&s);
    (void)waits_to_probe(&s);            /* interval 2 now */
    cr_assert_eq(ct__spin_rounds(&s, B), 0u);
    struct ct__spin before = s;
    ct__spin_slept(&s, B);
    cr_assert_eq(s.budget, before.budget);
    cr_assert_eq(s.countdown, before.countdown);
    cr_assert_eq(s.interval, before.interval);
}

Test(spin, a_won_probe_turns_spinning_back_on)
{
    struct ct__spin s = CT__SPIN_START(500u);
    lose_until_off(&s);
    for (int k = 0; k < 6; k++)
        (void)waits_to_probe(&s);        /* interval grown to 64 */
    while (ct__spin_rounds(&s, B) == 0)
        ;
    ct__spin_won_after(&s, 40, B);       /* answered 40 rounds into the probe */
    cr_assert_eq(s.budget, 2 * 40 + B.min);
    cr_assert_eq(ct__spin_rounds(&s, B), 2 * 40 + B.min);
    /* Off again: the first probe comes at once (the backoff was reset). */
    lose_until_off(&s);
    cr_assert_eq(waits_to_probe(&s), 1u);
}

Test(spin, doubling_rule_restores_the_maximum_after_a_probe)
{
    struct ct__spin s = CT__SPIN_START(128u);
    struct ct__spin_bounds b = { 16u, 512u };
    ct__spin_won(&s, b);
    cr_assert_eq(s.budget, 256u);
    while (s.budget > 0) {
        (void)ct__spin_rounds(&s, b);
        ct__spin_slept(&s, b);
    }
    cr_assert_eq(ct__spin_rounds(&s, b), 512u, "the probe");
    ct__spin_won(&s, b);
    cr_assert_eq(s.budget, 512u);
}

Test(spin, any_outcomes_keep_probes_within_the_cap)
{
    /* Whatever the wins and losses, a thread whose spinning is off probes
     * again within CT__SPIN_PROBE_MAX waits. */
    struct ct__spin s = CT__SPIN_START(500u);
    unsigned x = 12345, since_spin = 0;
    for (int i = 0; i < 200000; i++) {
        unsigned r = ct__spin_rounds(&s, B);
        x = x * 1103515245u + 12345u;
        if (r == 0) {
            ct__spin_slept(&s, B);
            since_spin++;
            cr_assert_lt(since_spin, CT__SPIN_PROBE_MAX, "wait %d: no probe", i);
            continue;
        }
        since_spin = 0;
        if ((x >> 16) % 97 == 0)
            ct__spin_won_after(&s, (x >> 8) % r, B);
        else
            ct__spin_slept(&s, B);
        cr_assert_leq(s.budget, B.max);
    }
}

Test(spin, a_fresh_thread_starts_from_what_the_process_learned)
{
    /* CT__SPIN_POLICY's threads share a seed: one whose spinning turned off
     * makes the next fresh one start off (its first probe `interval` waits
     * away); a won probe turns it back on for the fresh ones too. */
    static _Atomic unsigned seed;
    struct ct__spin a = { 500u, 0u, 0u, &seed };
    cr_assert_eq(ct__spin_rounds(&a, B), 500u, "an unseeded process spins");
    ct__spin_slept(&a, B);
    lose_until_off(&a);
    cr_assert_gt(atomic_load(&seed), 0u, "spinning off is published");
    for (int k = 0; k < 3; k++)
        (void)waits_to_probe(&a);          /* failed probes: interval 2, 4, 8 */
    unsigned learned = atomic_load(&seed);
    cr_assert_eq(learned, a.interval, "the grown interval is published");
    cr_assert_gt(learned, 1u);

    struct ct__spin b = { 500u, 0u, 0u, &seed };
    cr_assert_eq(ct__spin_rounds(&b, B), 0u, "a fresh thread starts off");
    ct__spin_slept(&b, B);
    unsigned n = waits_to_probe(&b);
    cr_assert_leq(n, CT__SPIN_FIRST_PROBE, "and probes within its first few waits");
    cr_assert_geq(atomic_load(&seed), learned, "a failed probe keeps it off");

    cr_assert_eq(ct__spin_rounds(&b, B), 0u);
    while (ct__spin_rounds(&b, B) == 0)
        ct__spin_slept(&b, B);
    ct__spin_won_after(&b, 3u, B);
    cr_assert_eq(atomic_load(&seed), 0u, "a won probe is published");
    struct ct__spin c = { 500u, 0u, 0u, &seed };
    cr_assert_eq(ct__spin_rounds(&c, B), 500u, "fresh threads spin again");
}
