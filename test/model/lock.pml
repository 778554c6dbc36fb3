/* Promela model of Lock (src/lock.c) over the wait layer (futex semantics).
 *
 * The lock word: 0 free, 1 held, 2 held and someone may sleep.  acquire:
 * CAS 0->1; else (after a spin of CAS attempts) XCHG 2: old 0 means held,
 * else sleep while word == 2 and retry.  release: XCHG 0, wake one if the
 * old value was 2.  The wait layer: ct_wait compares and goes to sleep
 * atomically; ct_wake_one wakes one sleeper of the word, if any.
 *
 * Checked by spin (safety mode), for N threads doing ITER acquire/release
 * rounds each, every interleaving:
 *   - mutual exclusion: assert at most one thread in the critical section;
 *   - no lost wake-up: thread 0 only uses untimed acquires, so if a release
 *     could leave it asleep with nobody left to wake it, spin finds an
 *     invalid end state (a thread blocked forever);
 *   - the release of a held lock never finds the word free.
 * The other threads may also use timed acquires that give up (the timeout
 * may fire at any moment, also as a spurious wake-up), which leaves a 2 in
 * the word without sleepers: allowed, it costs one needless wake.
 *
 * What the model requires of the wait layer: a timed wait that ends by its
 * timeout was not chosen by a wake (the timeout and the dequeue by a waker
 * are atomic, as in the futex, the parking table's `woken` check and
 * WaitOnAddress).  Otherwise a timed acquire that gives up would swallow the
 * wake meant for a thread that keeps sleeping (-DSWALLOW shows spin finds
 * exactly that lost wake-up).
 *
 * -DBROKEN: the slow path writes 1 instead of 2 (a classic mistake): the
 * release then skips the wake, and spin must find the lost wake-up.
 *
 * must-fail: BROKEN SWALLOW
 */
#ifndef N
#define N 3
#endif
#ifndef ITER
#define ITER 2
#endif

byte word = 0;
byte inside = 0;
bool sleeping[N];

#ifdef BROKEN
#define SLEEP_VALUE 1
#else
#define SLEEP_VALUE 2
#endif

/* ct_wait(&word, expected, timed ? finite : CT_FOREVER) */
inline futex_wait(expected, timed) {
    atomic { if :: word == expected -> sleeping[_pid] = true :: else -> skip fi }
    if
    :: !sleeping[_pid] -> skip                          /* woken, or did not sleep */
#ifdef SWALLOW
    :: timed && sleeping[_pid] -> sleeping[_pid] = false; timedout = true
#else
    :: atomic { timed && sleeping[_pid] -> sleeping[_pid] = false; timedout = true }
#endif
    fi
}

inline wake_one() {
    atomic {
        if
        :: sleeping[0] -> sleeping[0] = false
        :: N > 1 && sleeping[1] -> sleeping[1] = false
        :: N > 2 && sleeping[2] -> sleeping[2] = false
        :: N > 3 && sleeping[3] -> sleeping[3] = false
        :: else -> skip
        fi
    }
}

active [N] proctype thread()
{
    byte old, round = 0, spins;
    bool got, timed, timedout;

    do
    :: round == ITER -> break
    :: else ->
        got = false; timedout = false;
        if :: _pid == 0 -> timed = false :: _pid != 0 -> timed = true :: _pid != 0 -> timed = false fi;
        /* fast path: CAS 0 -> 1 */
        atomic { if :: word == 0 -> word = 1; got = true :: else -> skip fi };
        /* spin: a few CAS attempts while the word is not 2 */
        spins = 0;
        do
        :: got || spins == 2 || word == 2 -> break
        :: else -> atomic { if :: word == 0 -> word = 1; got = true :: else -> skip fi }; spins++
        od;
        /* park: XCHG SLEEP_VALUE; old 0 = we hold it */
        do
        :: got || timedout -> break
        :: else ->
            atomic { old = word; word = SLEEP_VALUE };
            if
            :: old == 0 -> got = true
            :: else -> futex_wait(SLEEP_VALUE, timed)
            fi
        od;
        if
        :: got ->
            atomic { inside++; assert(inside == 1) };
            inside--;
            /* release: XCHG 0, wake one if it was 2 */
            atomic { old = word; word = 0 };
            assert(old != 0);
            if :: old == 2 -> wake_one() :: else -> skip fi
        :: else -> skip                                 /* timed out: not held */
        fi;
        round++
    od
}
