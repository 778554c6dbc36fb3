/* Promela model of a Future's completion by its worker against done
 * callbacks being added and threads waiting (src/executor.c: serve's take,
 * complete_ran, begin_complete, finish_complete, ct_future_add_done_callback,
 * wait_done), over the wait layer (futex semantics, as in lock.pml).
 *
 * The future word w: bits 0-3 the state (PENDING 1, RUNNING 2, COMPLETING 3,
 * FINISHED 4, CLOSING 6, as internal/executor.h), bit 4 WAITERS (a thread
 * may sleep on the word), bit 5 CALLBACKS (a done callback was added before
 * the completion began).  The future's lock (a plain mutex here) guards the
 * callback list (ncb: callbacks added) and the COMPLETING -> CLOSING step.
 *
 *   worker    take: PENDING -> RUNNING, keeping WAITERS and CALLBACKS (one
 *             atomic step: it happens under ex->lock, unmodelled).  Then
 *             complete_ran: load v; while CALLBACKS is clear: CAS v ->
 *             (v & WAITERS) | FINISHED, success: wake all if WAITERS was
 *             set, done (the fast path: no lock).  CALLBACKS set: the slow
 *             path: lock; -> COMPLETING (flags kept); unlock; lock; run the
 *             callbacks added so far, one at a time with the lock dropped
 *             around each call (re-reading ncb under it); -> CLOSING;
 *             unlock; -> FINISHED (flags kept); wake all if WAITERS.
 *   adder     ct_future_add_done_callback: state final: run it here.  Else
 *             lock; loop { v = load; PENDING or RUNNING: set CALLBACKS by
 *             CAS (a failed CAS reloads and loops), then append (ncb + 1),
 *             unlock, done; COMPLETING: append, unlock, done; CLOSING or
 *             final: unlock, wait until final, run it here }.
 *   waiter    wait_done: loop { v = load; final: done; WAITERS clear: CAS
 *             it in (failed: loop); wait(w, v | WAITERS) }.
 * Threads: one worker, ADDERS adders (each adds one callback), one waiter.
 *
 * Checked (safety, every interleaving): every callback added runs exactly
 * once (ran == ADDERS at the end, never more: asserted at each run), and a
 * callback the worker runs was added before it ran (ran <= ncb); the
 * waiter returns only on a final state; nobody is left asleep (invalid end
 * states: a wake-up lost).  Liveness (-DLIVE, weak fairness): every thread
 * finishes: <> (finished == ADDERS + 2).
 * Not modelled: cancel and shutdown (they complete through begin_complete
 * and finish_complete under the lock, as the slow path here), a timed wait,
 * CT_EOVERFLOW (checked before anything is written), resubmission.
 *
 * Deliberately broken variants (each must be caught):
 *   FAST_IGNORES_CB    the fast path's CAS does not look at CALLBACKS: a
 *                      callback added before the completion never runs.
 *   TAKE_DROPS_CB      the worker's PENDING -> RUNNING step keeps only
 *                      WAITERS: a callback added while the task was still
 *                      pending never runs.
 *   ADD_WITHOUT_BIT    the adder appends without setting CALLBACKS: the
 *                      worker takes the fast path past it.
 *   APPEND_UNLOCKED    the adder sets CALLBACKS, unlocks, then appends: the
 *                      worker's slow path can look at the list in between.
 *   FAST_DROPS_WAITERS the fast path's final store clears WAITERS and never
 *                      wakes: the waiter sleeps for ever.
 * must-fail: FAST_IGNORES_CB TAKE_DROPS_CB ADD_WITHOUT_BIT APPEND_UNLOCKED FAST_DROPS_WAITERS
 *
 * (check.sh's -DN=2/-DN=3 mean nothing here: ADDERS sets the size.)
 * checks: -DADDERS=1 | -DADDERS=2
 */
#ifndef ADDERS
#define ADDERS 2
#endif

#define PENDING    1
#define RUNNING    2
#define COMPLETING 3
#define FINISHED   4
#define CLOSING    6
#define STATE_MASK 15
#define WAITERS    16
#define CALLBACKS  32

byte w = PENDING;
bool lk = false;            /* the future's lock */
byte ncb = 0;               /* callbacks appended (under lk) */
byte ran = 0;               /* callbacks run */
byte finished = 0;
bool sleeping = false;      /* the waiter, asleep on w */

inline lock() { atomic { !lk -> lk = true } }
inline unlock() { lk = false }
inline wake_all() { atomic { sleeping = false } }
inline run_cb() { atomic { ran++; assert(ran <= ncb && ran <= ADDERS) } }
#define ST(x)  ((x) & STATE_MASK)
#define FINAL(x) (ST(x) == FINISHED)

proctype worker()
{
    byte v, next = 0;
    bool done = false;

    /* take (under ex->lock) */
#ifdef TAKE_DROPS_CB
    atomic { assert(ST(w) == PENDING); w = (w & WAITERS) | RUNNING };
#else
    atomic { assert(ST(w) == PENDING); w = (w & (WAITERS | CALLBACKS)) | RUNNING };
#endif
    /* the task runs; complete_ran */
    v = w;
    do
    :: done -> break
#ifdef FAST_IGNORES_CB
    :: !done ->
#else
    :: !done && !(v & CALLBACKS) ->
#endif
        atomic {
            if
            :: w == v ->
#ifdef FAST_DROPS_WAITERS
                w = FINISHED; v = 0;
#else
                w = (v & WAITERS) | FINISHED;
#endif
                done = true
            :: else -> v = w
            fi
        };
        if
        :: done && (v & WAITERS) -> wake_all()
        :: else -> skip
        fi;
        if :: done -> goto out :: else -> skip fi
    :: !done && (v & CALLBACKS) -> break
    od;
    /* slow path: begin_complete */
    lock();
    atomic { w = (w & (WAITERS | CALLBACKS)) | COMPLETING };
    unlock();
    /* finish_complete */
    lock();
    do
    :: next < ncb -> next++; unlock(); run_cb(); lock()
    :: else -> break
    od;
    atomic { w = (w & (WAITERS | CALLBACKS)) | CLOSING };
    unlock();
    atomic { v = w; w = (w & (WAITERS | CALLBACKS)) | FINISHED };
    if :: v & WAITERS -> wake_all() :: else -> skip fi;
out:
    finished++
}

proctype adder()
{
    byte v;
    bool added = false, here = false;

    if
    :: FINAL(w) -> here = true                  /* done already: run it here */
    :: else ->
        lock();
        do
        :: atomic { v = w };
           if
           :: ST(v) == PENDING || ST(v) == RUNNING ->
#ifndef ADD_WITHOUT_BIT
               atomic {
                   if
                   :: w == v -> w = v | CALLBACKS; added = true
                   :: else -> skip                  /* reload and look again */
                   fi
               };
#else
               added = true;
#endif
               if
               :: added ->
#ifdef APPEND_UNLOCKED
                   unlock(); ncb++;
#else
                   ncb++; unlock();
#endif
                   break
               :: else -> skip
               fi
           :: ST(v) == COMPLETING -> ncb++; added = true; unlock(); break
           :: else -> unlock(); here = true; break   /* CLOSING or final */
           fi
        od
    fi;
    if
    :: here ->
        /* wait_done, then run it here (a callback added at CLOSING or later) */
        (FINAL(w));
        atomic { ncb++; run_cb() }
    :: else -> skip
    fi;
    finished++
}

proctype waiter()
{
    byte v;

    do
    :: v = w;
       if
       :: FINAL(v) -> break
       :: else ->
           if
           :: !(v & WAITERS) ->
               atomic { if :: w == v -> w = v | WAITERS; v = w :: else -> v = 0 fi }
           :: else -> skip
           fi;
           if
           :: v != 0 ->
               atomic { if :: w == v -> sleeping = true :: else -> skip fi };
               (!sleeping)
           :: else -> skip
           fi
       fi
    od;
    assert(FINAL(w));
    finished++
}

init {
    byte i;
    atomic {
        run worker();
        i = 0;
        do
        :: i < ADDERS -> run adder(); i++
        :: else -> break
        od;
        run waiter()
    }
    (finished == ADDERS + 2);
    assert(ran == ADDERS && ncb == ADDERS)
}

#ifdef LIVE
ltl live { <> (finished == ADDERS + 2) }
#endif
