/* Promela model of RLock inside a region of shared memory (src/rlock.c):
 * the three-state word, the owner field, and the take-over of an RLock whose
 * owner's process died (shared_sleep / take_over), over the wait layer
 * (futex semantics).
 *
 * This is the word of an RLock inside a region only: an RLock in process
 * memory uses the Lock's word through internal/lock.h (src/rlock.c), which
 * test/model/lock.pml checks; there is no owner death to cover there.
 *
 * The fields, as in src/rlock.c: the word W (UNLOCKED 0, LOCKED 1, PARKED
 * 2) and the owner field (0: none, else the owner id of the holder; here
 * pid + 1, and the process of pid 0 may die).  Re-entry (the count) touches
 * no shared word and is left out.
 *
 *   acquire   CAS W 0 -> 1; else (the spin is only loads, left out) loop:
 *             XCHG W -> 2; found 0: taken; else shared_sleep: loop {
 *             wait(W, 2, probe deadline); woken (or W was not 2): retry the
 *             XCHG; the probe timed out: take_over; taken over: return
 *             EOWNERDEAD (held, owner already set); else W != 2: retry the
 *             XCHG; else sleep again };
 *             then (not taken over) owner = me, a separate store.
 *   take_over o = owner; o is a dead process's id: CAS owner o -> me; won:
 *             XCHG W -> 2 (held; its release wakes a sleeper).
 *   release   owner = 0, then XCHG W -> 0; found 2: wake one.
 * Death: the process of pid 0 may die while it holds the RLock, at any
 * moment between its store of the owner id and its clear of it (its thread
 * stops for ever; the word stays held) -- the window the take-over covers
 * -- or after a release (holding nothing).  A death between
 * taking the word and storing the owner id, or between clearing it and
 * releasing the word, leaves a held word with no owner id to test: nobody
 * can take it over (variant DIE_OUTSIDE_WINDOW shows the hang; the limit is
 * written down in docs/api/shm.md).
 *
 * The wait layer as in lock.pml: compare-and-sleep one atomic step, a wake
 * one atomic step dequeuing one sleeper; a probe deadline may pass at any
 * moment while a thread sleeps (dequeued in the same step), as the real
 * OWNER_PROBE_NS wake-up does, whoever holds the lock.
 *
 * Threads: N (pids 0..N-1), each ITER acquire/release pairs; only pid 0's
 * process may die (once), inside its window.
 *
 * Checked (safety run, spin -DSAFETY; every interleaving):
 *   - mutual exclusion among the living: at most one live thread holds the
 *     RLock (in_cs <= 1), also after a take-over;
 *   - after a take-over the taker is the owner and W is held.
 * Liveness run (-DLIVE, spin -a -f: weak fairness): every thread whose
 * process lives finishes, whether or not pid 0 died holding the RLock:
 * ltl <> (finished + died == N).
 * Not modelled: re-entry, the spin, timeouts of the caller's own deadline,
 * pid reuse (a dead pid given to a new process looks alive: documented),
 * memory orders.
 *
 * Deliberately broken variants (each must be caught):
 *   TAKEOVER_LIVE       take over without asking whether the owner died: a
 *                       sleeper whose probe fires steals a live holder's
 *                       lock (mutual exclusion).
 *   TAKEOVER_STORE      take over with a plain store instead of the CAS:
 *                       two sleepers that both saw the dead owner both hold
 *                       the lock (mutual exclusion).
 *   NO_OWNER_CLEAR      release does not clear the owner field: once the
 *                       releaser's process dies, its stale id makes a
 *                       sleeper take over from the live holder that came
 *                       next (mutual exclusion).
 * must-fail: TAKEOVER_LIVE TAKEOVER_STORE NO_OWNER_CLEAR
 *   (each caught by the take-over's assert: a second thread overwrote the
 *   owner field of the lock it believes it took over)
 *   NO_TAKEOVER         a probe never takes over: after pid 0's process
 *                       died holding the lock the others sleep and probe
 *                       for ever (an acceptance cycle).
 *   DIE_OUTSIDE_WINDOW  pid 0's process may also die between taking W and
 *                       storing its id, or between clearing its id and
 *                       releasing W: the others sleep and probe for ever
 *                       (an acceptance cycle): the limit of a two-field
 *                       design, shown so that it stays written down.
 * must-fail-live: NO_TAKEOVER DIE_OUTSIDE_WINDOW
 *
 * checks: -DN=2 -DITER=2 | -DN=3 -DITER=1
 * checks-full: -DN=3 -DITER=2
 */
#ifndef N
#define N 3             /* threads */
#endif
#ifndef ITER
#define ITER 1          /* acquire/release pairs per thread */
#endif

#define UNLOCKED 0
#define LOCKED   1
#define PARKED   2

byte w = UNLOCKED;          /* the word */
byte owner = 0;             /* 0: none, else holder pid + 1 */
bool dead = false;          /* pid 0's process died */
bool sleeping[N];           /* the wait queue of W */
byte in_cs = 0;             /* live holders */
byte finished = 0;          /* live threads done */
byte died = 0;              /* 1 once pid 0's process died */

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

/* pid 0 only: its process may die here (then its thread stops for ever). */
inline maybe_die() {
    if
    :: _pid == 0 && !dead ->
        atomic { dead = true; died = 1; if :: held -> in_cs-- :: else -> skip fi };
        goto gone
    :: true -> skip
    fi
}

active [N] proctype t()
{
    byte round = 0, s, o;
    bool got, took, held;

    do
    :: round == ITER -> break
    :: else ->
        /* ---- acquire ---- */
        atomic { if :: w == UNLOCKED -> w = LOCKED; got = true :: else -> got = false fi };
        do
        :: got || took -> break
        :: else ->
            atomic { s = w; w = PARKED };
            if
            :: s == UNLOCKED -> got = true
            :: else ->
                /* shared_sleep */
                do
                :: atomic { if :: w == PARKED -> sleeping[_pid] = true :: else -> skip fi };
                   if
                   :: !sleeping[_pid] -> break                     /* woken, or W changed */
                   :: atomic { sleeping[_pid] -> sleeping[_pid] = false };    /* probe */
                      /* take_over */
                      o = owner;
#if defined(TAKEOVER_LIVE)
                      if
                      :: o != 0 ->
#elif defined(NO_TAKEOVER)
                      if
                      :: false ->
#else
                      if
                      :: o == 1 && dead ->                         /* pid 0's id, dead */
#endif
#ifdef TAKEOVER_STORE
                          owner = _pid + 1; took = true
#else
                          atomic { if :: owner == o -> owner = _pid + 1; took = true
                                      :: else -> skip fi }
#endif
                      :: else -> skip
                      fi;
                      if
                      :: took -> atomic { w = PARKED }; break      /* CT_EOWNERDEAD */
                      :: else ->
                          if :: w != PARKED -> break :: else -> skip fi
                      fi
                   fi
                od
            fi
        od;
#ifdef DIE_OUTSIDE_WINDOW
        atomic { in_cs++; held = true };
        maybe_die();
        atomic { in_cs-- ; held = false };
#endif
        if
        :: took -> assert(owner == _pid + 1 && w != UNLOCKED)
        :: else -> owner = _pid + 1                                 /* become_owner */
        fi;
        atomic { in_cs++; held = true; assert(in_cs == 1) };
        maybe_die();
        /* ---- release ---- */
        maybe_die();
        atomic { in_cs--; held = false };
#ifndef NO_OWNER_CLEAR
        owner = 0;
#endif
#ifdef DIE_OUTSIDE_WINDOW
        maybe_die();
#endif
        atomic { s = w; w = UNLOCKED };
        if :: s == PARKED -> wake_one() :: else -> skip fi;
        d_step { got = false; took = false; s = 0; o = 0 };
        maybe_die();                                                /* holding nothing */
        round++
    od;
    finished++;
gone:
    skip
}

#ifdef LIVE
ltl live { <> (finished + died == N) }
#endif
