/* Promela model of the Executor's hand-off to idle workers (src/executor.c:
 * serve, idle_wait, idle_call, ct_executor_submit, ct_executor_shutdown)
 * over the wait layer (futex semantics, as in lock.pml).
 *
 * Under ex->lock (a plain mutex here): `pending` (tasks submitted and not
 * yet taken), the idle stack (idle[i]: worker i's node is linked), nworkers
 * and shutdown.  Each idle worker's node has its own word: WAITING 0,
 * SLEEPING 1, CALLED 2.
 *
 *   worker    lock; loop { pending > 0: take one, unlock, run, lock;
 *             shutdown: unlock, exit; else word = WAITING, link the node,
 *             unlock, idle_wait, lock; node not CALLED (timed out): unlink
 *             it, and retire (nworkers - 1, unlock, exit) unless something
 *             is pending or shutdown is set }
 *   idle_wait spin (any number of looks at the word: a look that sees
 *             CALLED returns); CAS WAITING -> SLEEPING, failed: return;
 *             while word != CALLED: wait(word, SLEEPING, idle deadline),
 *             a timeout returns
 *   submit    lock; pending + 1; an idle node linked: unlink it, XCHG its
 *             word -> CALLED; else nworkers < MAX: start a worker; unlock;
 *             then, if the XCHG found SLEEPING, wake the node (after the
 *             lock is dropped: the node lives in the worker's slot, so the
 *             late wake may find the worker gone on, even asleep on its
 *             next idle round — a spurious wake, which its loop absorbs)
 *   shutdown  lock; shutdown = 1; call every linked node (waking each one
 *             found SLEEPING, under the lock); unlock
 * (The finalizer's re-check after retiring, cancel and the futures are left
 * out: a retiring worker here leaves in the same lock hold that decides.)
 *
 * Idle workers wait untimed (idle_timeout_ns 0) unless -DTIMED, where the
 * idle deadline may pass at any moment a worker sleeps (and a timed-out
 * worker retires).  The untimed runs are the ones that can see a lost
 * wake-up: with a timeout every sleeper wakes up by itself.
 *
 * Checked (safety, every interleaving): at the end every task ran exactly
 * once (ran == SUBMITS, pending == 0) and nobody is left asleep or waiting
 * for the lock (invalid end states: a lost wake-up, a worker that sleeps on
 * a node nobody will call); a node is never linked twice; a task never
 * waits while a worker idles (monitor: whenever ex->lock is free and a
 * node is linked, pending <= the workers called and not yet back).
 * Liveness (-DLIVE, weak fairness): every task runs: <> (ran == SUBMITS).
 *
 * Deliberately broken variants (each must be caught):
 *   NO_WAKE            submit calls a SLEEPING node without waking it: the
 *                      worker sleeps for ever (untimed) and its task waits.
 *   IDLE_WITHOUT_CHECK a worker goes idle without looking at `pending`
 *                      first: a task submitted while it ran is never taken.
 *   CAS_AS_STORE       idle_wait stores SLEEPING instead of the CAS: a call
 *                      that came first is overwritten and the worker sleeps.
 *   WAKE_FROM_RELOAD   submit decides its late wake from a fresh load of the
 *                      word after the unlock (SLEEPING?) instead of from the
 *                      XCHG's result: the word reads CALLED by then, so a
 *                      sleeping worker is never woken.
 * must-fail: NO_WAKE IDLE_WITHOUT_CHECK CAS_AS_STORE WAKE_FROM_RELOAD
 * (Retiring even with tasks pending is not a bug here: a worker whose node
 * is still linked is called by the submit, so one that timed out uncalled
 * leaves the pending task to the worker that was called.)
 *
 * (check.sh's -DN=2/-DN=3 mean nothing here: its variant and liveness runs
 * use the defaults, MAXW=2 SUBMITS=2, untimed.)
 * checks: -DMAXW=1 -DSUBMITS=2 | -DMAXW=2 -DSUBMITS=2 | -DMAXW=2 -DSUBMITS=2 -DTIMED
 * checks-full: -DMAXW=2 -DSUBMITS=3 -DTIMED
 */
#ifndef MAXW
#define MAXW 2          /* max_workers */
#endif
#ifndef SUBMITS
#define SUBMITS 2       /* tasks submitted */
#endif

#define WAITING  0
#define SLEEPING 1
#define CALLED   2

byte lk = 0;                /* ex->lock: 0 free, else holder pid + 1 */
byte pending = 0, ran = 0, nworkers = 0, started = 0;
byte nidle = 0;             /* ghost: nodes linked */
byte ncalled = 0;           /* ghost: workers called, not yet back under the lock */
bool shutdown = false;
/* Per worker, by start order (at most one start per submit): */
bool idle[SUBMITS];         /* worker i's node is linked */
byte word[SUBMITS];
bool sleeping[SUBMITS];     /* the wait queue of word[i] */

inline lock() { atomic { lk == 0 -> lk = _pid + 1 } }
inline unlock() { atomic { assert(lk == _pid + 1); lk = 0 } }

/* caller holds the lock; node i linked: unlink and call it (XCHG; old
 * gets what the word held) */
inline call(i) {
    idle[i] = false; nidle--; ncalled++;
    atomic { old = word[i]; word[i] = CALLED }
}

/* wake node i (wait-layer semantics: every sleeper on its word) */
inline wake(i) {
#ifndef NO_WAKE
    sleeping[i] = false
#else
    skip
#endif
}

proctype worker(byte me)
{
    bool timedout;

    lock();
    do
    :: pending > 0 ->
        pending--; unlock();
        atomic { ran++ };
        lock();
#ifdef IDLE_WITHOUT_CHECK
        if :: !shutdown -> goto go_idle :: else -> skip fi
#endif
        skip
    :: pending == 0 && shutdown -> unlock(); break
    :: pending == 0 && !shutdown ->
go_idle:
        assert(!idle[me]);
        word[me] = WAITING; idle[me] = true; nidle++;
        unlock();
        /* idle_wait */
        timedout = false;
        do
        :: word[me] == CALLED -> break                       /* a look while spinning */
        :: true ->                                           /* the spin ran out */
#ifdef CAS_AS_STORE
            word[me] = SLEEPING;
#else
            atomic { if :: word[me] == WAITING -> word[me] = SLEEPING
                        :: else -> goto woken fi };
#endif
            do
            :: word[me] == CALLED -> break
            :: else ->
                atomic { if :: word[me] == SLEEPING -> sleeping[me] = true :: else -> skip fi };
                if
                :: !sleeping[me] -> skip                     /* woken, or the word differed */
#ifdef TIMED
                :: atomic { sleeping[me] -> sleeping[me] = false; timedout = true }  /* idle timeout */
#endif
                fi;
                if :: timedout -> break :: else -> skip fi
            od;
            break
        od;
woken:
        lock();
        if
        :: word[me] == CALLED -> ncalled--
        :: word[me] != CALLED ->
            idle[me] = false; nidle--;                       /* timed out: unlink */
            if
            :: pending == 0 && !shutdown -> nworkers--; unlock(); goto gone
            :: else -> skip
            fi
        fi
    od;
    atomic { nworkers-- };
gone:
    skip
}

active proctype submitter()
{
    byte n = 0, i, old, callee;
    bool found;

    do
    :: n < SUBMITS ->
        lock();
        pending++;
        found = false;
        i = 0;
        do
        :: i < started && !found ->
            if :: idle[i] -> call(i); found = true; callee = i :: else -> skip fi;
            i++
        :: else -> break
        od;
        if
        :: !found && nworkers < MAXW ->
            nworkers++;
            run worker(started);
            started++
        :: else -> skip
        fi;
        unlock();
        /* the late wake, outside the lock */
#ifdef WAKE_FROM_RELOAD
        if :: found && word[callee] == SLEEPING -> wake(callee) :: else -> skip fi;
#else
        if :: found && old == SLEEPING -> wake(callee) :: else -> skip fi;
#endif
        n++
    :: n == SUBMITS -> break
    od;
    /* shutdown(wait = false) */
    lock();
    shutdown = true;
    i = 0;
    do
    :: i < started ->
        if :: idle[i] -> call(i); if :: old == SLEEPING -> wake(i) :: else -> skip fi
           :: else -> skip fi;
        i++
    :: else -> break
    od;
    unlock();
    /* every task ran once the workers are gone (shutdown(wait) joins them) */
    nworkers == 0;
    assert(ran == SUBMITS && pending == 0)
}

/* A task never waits while a worker idles: whenever ex->lock is free and
 * a node is linked, every pending task has a called worker on its way. */
active proctype monitor()
{
end:
    atomic { lk == 0 && nidle > 0 && pending > ncalled -> assert(false) }
}

#ifdef LIVE
ltl live { <> (ran == SUBMITS) }
#endif
