/* Promela model of the GIL (src/gil.c): the state word, the waiter queue and
 * its nodes, the drop request, both modes' hand-overs and PRIORITY mode's
 * nudge and take-back, over the wait layer (futex semantics, as lock.pml).
 *
 * State word st: LOCKED 1, QUEUED 2 (internal/gil.h).  queue_lock is a plain
 * mutex (ql).  Each thread has one waiter node (a thread is in at most one
 * take_slow): inq (linked), arrival (queue order: oldest first), prio,
 * forced, dropped_at, nudged, word (WAITING 0 / SIGNALLED 1 / PARKED 2),
 * alive (the node's stack frame exists: from take_slow's start to its
 * return).  drop: DROP_NONE 0 / DROP_NOW 1 / DROP_WAKING 2.  takes is
 * CPython's switch_number.
 *
 *   take        fast: CAS 0 -> LOCKED, then takes + 1; else take_slow
 *   take_slow   under ql: loop { s = st; !LOCKED and may_take: CAS s ->
 *               LOCKED | (others queued ? QUEUED : 0) (a failed CAS re-reads);
 *               not queued: link the node, OR QUEUED in, re-check; else
 *               (interval logic, below) request the drop, word = WAITING,
 *               unlock, await_signal, lock }; then unlink, takes + 1, clear
 *               drop, PRIORITY: a priority waiter still queued -> request
 *               the drop; unlock
 *   may_take    not (forced and takes == dropped_at and others queued) and
 *               (PRIORITY: self priority or no priority waiter queued)
 *   await_signal  spin (any number of looks; one that sees word != WAITING
 *               returns); CAS WAITING -> PARKED (failed: return);
 *               wait(word, PARKED)
 *   drop        CAS LOCKED -> 0; failed: release_slow: under ql: w =
 *               next_to_wake, st = (queue non-empty ? QUEUED : 0),
 *               signal(w) (XCHG SIGNALLED, found PARKED: wake)
 *   poll        drop == 0: nothing; else poll_slow: QUEUED clear: under ql,
 *               clear drop if the queue is empty; CLASSIC: hand_over (drop,
 *               take_slow as a forced dropper); PRIORITY: DROP_WAKING:
 *               nothing, else priority_hand_over
 *   yield       QUEUED set: hand_over
 *   priority_hand_over  under ql: w = next_to_wake; none: clear drop, keep;
 *               w priority, not nudged, PARKED (and parked recently: a free
 *               choice, the clock being unmodelled): CAS PARKED -> WAITING,
 *               nudged, drop = DROP_WAKING, wake (under ql), keep; else
 *               st = QUEUED, signal(w), unlock, take_back
 *   take_back   spin: st == 0 and takes moved: CAS 0 -> LOCKED, takes + 1;
 *               or give up at any moment: take_slow as a forced dropper
 *
 * Interval logic in take_slow (the clock is not modelled): a switch seen
 * (takes moved) restarts the interval; with the GIL held a priority waiter
 * (PRIORITY) requests the drop every time round; any other waiter does once
 * the interval ran out: always after its wait timed out, or at any other
 * moment by free choice (and in PRIORITY mode it becomes a priority
 * waiter).
 *
 * Waits and timeouts.  A parked node sleeps until a wake; its deadline (one
 * switch interval) may pass at any moment while the GIL is held and no drop
 * request is pending (a pending request is served by the holder's poll; a
 * waiter timing out again and again would only starve the others of
 * queue_lock, which weak fairness does not forbid) — but never for a
 * priority waiter in PRIORITY mode: the design promises that it is served
 * without its deadline (the holder's poll hands over, or nudges it awake),
 * so its waits are untimed here and a missing wake is a hang.  With the GIL
 * free no wait times out, so a lost wake-up cannot be masked by a timeout
 * either.  -DFREE_TIMEOUTS lifts every restriction (any sleeping wait may
 * time out at any moment, priority waiters too, with the GIL free or a
 * request pending): lost wake-ups are then masked, but the assertions
 * (one holder, QUEUED, live nodes) are checked over those paths as well.
 *
 * Threads: thread 0 is CPU-bound: it takes the GIL once and polls until
 * every other thread is done, then releases it.  Threads 1.. do ITER rounds
 * of take / up to P polls or yields / drop (ct_gil_acquire and
 * ct_gil_release: a returning thread, served first in PRIORITY mode).
 * -DCLASSIC models CT_GIL_CLASSIC (default: CT_GIL_PRIORITY).
 *
 * Checked (safety, every interleaving): at most one holder (monitor); QUEUED
 * is set exactly when the queue is non-empty whenever ql is free (monitor);
 * signals and nudges only touch a live, linked node; nobody is left asleep
 * or waiting at the end (invalid end states: a lost wake-up).
 * Liveness (-DLIVE, weak fairness): every thread finishes, <> (done == N):
 * with thread 0 polling for ever, a returning thread must get the GIL
 * through the holder's polls.
 *
 * Deliberately broken variants (each must be caught):
 *   NO_RECHECK            take_slow parks right after linking its node,
 *                         without re-checking the word: a release that still
 *                         saw no QUEUED freed the GIL with nobody signalled.
 *   SIGNAL_AFTER_UNLOCK   release_slow signals the node after dropping ql:
 *                         the waiter may have taken the GIL and returned
 *                         (its node is gone).
 *   TAKE_BACK_DROPS_QUEUED  take_back's CAS takes any unlocked word (also
 *                         QUEUED): the QUEUED bit is lost, a later release
 *                         takes the fast path and signals nobody.
 *   HAND_OVER_CLEARS_QUEUED priority_hand_over frees the GIL as 0, not
 *                         QUEUED: fast takers jump the queue and their fast
 *                         releases signal nobody.
 *   NUDGE_NO_WAKE         the nudge moves PARKED -> WAITING without the wake:
 *                         the waiter sleeps on, the holder passes over
 *                         DROP_WAKING for ever.
 *   NUDGE_EVERY_TIME      no `nudged` mark: a waiter that parks again before
 *                         each poll is nudged again and again and never
 *                         handed the GIL (livelock).
 *   FORCED_RETAKE         (CLASSIC) no forced switching: a holder that
 *                         honours a drop request may take the GIL straight
 *                         back, and the waiter that asked never gets it.
 * must-fail: NO_RECHECK SIGNAL_AFTER_UNLOCK TAKE_BACK_DROPS_QUEUED HAND_OVER_CLEARS_QUEUED NUDGE_NO_WAKE
 * must-fail-live: FORCED_RETAKE NUDGE_EVERY_TIME
 * (the last two are livelocks: no safety error, an acceptance cycle)
 * checks: -DN=2 | -DN=3 | -DN=2 -DCLASSIC | -DN=3 -DCLASSIC | -DN=3 -DFREE_TIMEOUTS | -DN=3 -DCLASSIC -DFREE_TIMEOUTS
 * liveness-also: -DCLASSIC
 * not-modelled: bump64 ct_gil_destroy ct_gil_held ct_gil_init ct_gil_set_switch_interval ct_gil_stats
 *   ct_gil_switch_interval gil_fork_child gil_fork_parent gil_fork_prepare holds interval_of load64
 *   slot_create state_word store64 tstate_create tstate_find tstate_gil tstate_link tstate_unlink
 *   tstates_free
 * checks-full: -DN=3 -DITER=2 | -DN=3 -DITER=2 -DCLASSIC
 */
#ifdef FORCED_RETAKE
#define CLASSIC
#endif
#ifndef N
#define N 2
#endif
#ifndef ITER
#define ITER 1          /* rounds of threads 1.. */
#endif
#ifndef P
#define P 1             /* polls / yields per hold of threads 1.. */
#endif
#define MAXN 3          /* array sizes (N <= 3) */
#define NONE 255

#define LOCKED 1
#define QUEUED 2

#define WAITING   0
#define SIGNALLED 1
#define PARKED    2

#define DROP_NONE   0
#define DROP_NOW    1
#define DROP_WAKING 2

byte st = 0;                /* the state word */
byte drop = DROP_NONE;      /* drop_request */
byte ql = 0;                /* queue_lock: 0 free, else holder + 1 */
byte nq = 0;                /* nodes linked (arrival ranks are 0 .. nq-1) */
byte incs = 0;              /* ghost: threads holding the GIL */
byte done = 0;              /* ghost: threads finished */

bool inq[MAXN], prio[MAXN], forced[MAXN], nudged[MAXN], alive[MAXN], sleeping[MAXN];
bool moved[MAXN];           /* takes moved since thread i recorded dropped_at */
byte arrival[MAXN], word[MAXN];

#define ANYQ (nq > 0)

inline lock_q() { atomic { ql == 0 -> ql = me + 1 } }
inline unlock_q() { atomic { assert(ql == me + 1); ql = 0 } }

/* fn: next_to_wake first_priority */
/* res = the oldest linked node (priority ones only if pr), not `skp` */
inline oldest(pr, skp, res) {
    d_step {
        res = NONE; j = 0;
        do
        :: j < MAXN ->
            if
            :: inq[j] && (!pr || prio[j]) && j != skp &&
               (res == NONE || arrival[j] < arrival[res]) -> res = j
            :: else -> skip
            fi;
            j++
        :: else -> break
        od;
        j = 0
    }
}

/* fn: became_holder */
/* every take: CPython's switch_number moves */
inline became_holder() {
    d_step { moved[0] = true; moved[1] = true; moved[2] = true }
}

/* fn: enqueue dequeue */
inline link() {
    d_step { inq[me] = true; arrival[me] = nq; nq++ }
}

inline unlink() {
    d_step {
        j = 0;
        do
        :: j < MAXN -> if :: inq[j] && arrival[j] > arrival[me] -> arrival[j]-- :: else -> skip fi; j++
        :: else -> break
        od;
        j = 0; inq[me] = false; arrival[me] = 0; nq--
    }
}

inline next_to_wake(res) {
#ifdef CLASSIC
    oldest(false, NONE, res)
#else
    oldest(true, NONE, res);
    if :: res == NONE -> oldest(false, NONE, res) :: else -> skip fi
#endif
}

/* others: a node other than mine is linked */
inline others_queued(res) {
    res = (nq > 1 || (nq == 1 && !inq[me]))
}

/* fn: request_drop */
inline request_drop() { drop = DROP_NOW }

/* fn: signal_waiter */
inline signal(x) {
    assert(alive[x] && x != me);
    atomic { old = word[x]; word[x] = SIGNALLED };
    if :: old == PARKED -> sleeping[x] = false :: else -> skip fi;
    old = 0
}

/* fn: drop release_slow ct_gil_release ct_gil_release_state */
inline release() {
    atomic { incs--; if :: st == LOCKED -> st = 0; ok = true :: else -> ok = false fi };
    if
    :: !ok ->                                    /* release_slow */
        lock_q();
        next_to_wake(w);
        st = (ANYQ -> QUEUED : 0);
#ifdef SIGNAL_AFTER_UNLOCK
        unlock_q();
        if :: w != NONE -> signal(w) :: else -> skip fi
#else
        if :: w != NONE -> signal(w) :: else -> skip fi;
        unlock_q()
#endif
        ; w = 0
    :: else -> skip
    fi;
    ok = false
}

proctype T(byte me)
{
    byte round = 0, np = 0, s, want, w, j, res, old, req;
    bool queued, ok, others, tout, elapsed, returning, forcedf;

take:                                        /* fn: take ct_gil_acquire ct_gil_ensure */
    if
    :: atomic { st == 0 -> st = LOCKED; incs++ } -> became_holder(); goto holding
    :: else -> returning = true; forcedf = false; goto slow
    fi;

slow:                                        /* fn: take_slow (returning, forcedf) */
    lock_q();
    alive[me] = true; prio[me] = returning; forced[me] = forcedf;
    nudged[me] = false; queued = false; tout = false;
    do
    :: true ->
        s = st;
        /* fn: may_take */
        others_queued(others);
#ifdef FORCED_RETAKE
        ok = true;
#else
        ok = !(forced[me] && !moved[me] && others);
#endif
#ifndef CLASSIC
        if
        :: ok && !prio[me] -> oldest(true, me, res); ok = (res == NONE); res = 0
        :: else -> skip
        fi;
#endif
        if
        :: !(s & LOCKED) && ok ->
            want = LOCKED | (others -> QUEUED : 0);
            atomic { if :: st == s -> st = want; incs++; ok = true :: else -> ok = false fi };
            want = 0;
            if :: ok -> break :: else -> skip fi
        :: else ->
            if
            :: !queued ->
                link(); queued = true;
                atomic { st = st | QUEUED };
#ifdef NO_RECHECK
                goto wait
#else
                skip
#endif
            :: else ->
wait:
                if
                :: s & LOCKED ->
#ifndef CLASSIC
                    if
                    :: prio[me] -> request_drop()
                    :: else ->
#endif
                        if
                        :: tout -> elapsed = true
                        :: !tout -> if :: elapsed = true :: elapsed = false fi
                        fi;
                        if
                        :: elapsed -> request_drop(); prio[me] = true
                        :: else -> skip
                        fi;
                        elapsed = false
#ifndef CLASSIC
                    fi
#endif
                :: else -> skip
                fi;
                tout = false; s = 0; others = false;
                word[me] = WAITING;
                unlock_q();
                /* fn: await_signal */
                do
                :: word[me] != WAITING -> break      /* a look while spinning */
                :: true ->                           /* the spin ran out */
                    atomic { if :: word[me] == WAITING -> word[me] = PARKED; ok = true
                                :: else -> ok = false fi };
                    if
                    :: ok ->
                        atomic { if :: word[me] == PARKED -> sleeping[me] = true :: else -> skip fi };
                        if
                        :: !sleeping[me] -> skip     /* woken, or the word differed */
#if defined(FREE_TIMEOUTS)
                        :: atomic { sleeping[me] -> sleeping[me] = false; tout = true }
#elif defined(CLASSIC)
                        :: atomic { sleeping[me] && (st & LOCKED) && drop == DROP_NONE ->
                                    sleeping[me] = false; tout = true }
#else
                        :: atomic { sleeping[me] && (st & LOCKED) && drop == DROP_NONE && !prio[me] ->
                                    sleeping[me] = false; tout = true }
#endif
                        fi
                    :: else -> skip
                    fi;
                    break
                od;
                lock_q()
            fi
        fi
    od;
    /* holding the GIL */
    if :: queued -> unlink() :: else -> skip fi;
    became_holder();
    s = 0; others = false; ok = false; queued = false;
    if :: drop != DROP_NONE -> drop = DROP_NONE :: else -> skip fi;
#ifndef CLASSIC
    oldest(true, NONE, res);
    if :: res != NONE -> request_drop() :: else -> skip fi;
    res = 0;
#endif
    alive[me] = false;
    unlock_q();

holding:
    if
    :: me == 0 && done < N - 1 -> goto poll
    :: me == 0 && done == N - 1 -> goto finish
    :: me != 0 && np < P -> np++; if :: goto poll :: goto yield fi
    :: me != 0 -> goto finish
    fi;

poll:                                        /* fn: ct_gil_poll poll_slow */
    if :: drop == DROP_NONE -> goto holding :: else -> req = drop fi;
    if
    :: !(st & QUEUED) ->                     /* stale request */
        lock_q();
        if :: !ANYQ -> drop = DROP_NONE :: else -> skip fi;
        unlock_q();
        req = 0;
        goto holding
    :: else -> skip
    fi;
#ifdef CLASSIC
    goto hand_over;
#else
    if :: req == DROP_WAKING -> req = 0; goto holding :: else -> req = 0 fi;
    /* fn: priority_hand_over */
    lock_q();
    next_to_wake(w);
    if
    :: w == NONE -> drop = DROP_NONE; w = 0; unlock_q(); goto holding
    :: else -> skip
    fi;
    assert(alive[w] && inq[w]);
#ifdef NUDGE_EVERY_TIME
    if
    :: prio[w] ->
#else
    if
    :: prio[w] && !nudged[w] ->
#endif
        /* only a waiter that parked recently (NUDGE_WINDOW_NS): a free choice */
        atomic { if :: word[w] == PARKED -> word[w] = WAITING; ok = true
                    :: word[w] == PARKED -> ok = false
                    :: else -> ok = false fi };
        if
        :: ok ->
            nudged[w] = true;
            drop = DROP_WAKING;
#ifndef NUDGE_NO_WAKE
            sleeping[w] = false;
#endif
            w = 0; ok = false;
            unlock_q();
            goto holding
        :: else -> skip
        fi
    :: else -> skip
    fi;
    moved[me] = false;                       /* dropped_at = takes */
#ifdef HAND_OVER_CLEARS_QUEUED
    atomic { incs--; st = 0 };
#else
    atomic { incs--; st = QUEUED };
#endif
    signal(w);
    w = 0; ok = false;
    unlock_q();
    /* fn: take_back */
    if
#ifdef TAKE_BACK_DROPS_QUEUED
    :: atomic { !(st & LOCKED) && moved[me] -> st = LOCKED; incs++ } -> became_holder(); goto holding
#else
    :: atomic { st == 0 && moved[me] -> st = LOCKED; incs++ } -> became_holder(); goto holding
#endif
    :: true -> returning = false; forcedf = true; goto slow   /* gave up, or others queued */
    fi;
#endif

yield:                                       /* fn: ct_gil_yield */
    if :: !(st & QUEUED) -> goto holding :: else -> skip fi;

hand_over:                                   /* fn: hand_over */
    req = 0;
    moved[me] = false;                       /* dropped_at = takes */
    release();
    returning = false; forcedf = true;
    goto slow;

finish:
    release();
    np = 0;
    round++;
    if
    :: me != 0 && round < ITER -> goto take
    :: else -> done++
    fi
}

init {
    byte i;
    atomic {
        i = 0;
        do
        :: i < N -> run T(i); i++
        :: else -> break
        od
    }
}

/* At most one holder; QUEUED mirrors the queue whenever ql is free. */
active proctype monitor()
{
end:
    do
    :: atomic { incs > 1 -> assert(false) }
    :: atomic { ql == 0 && ((st & QUEUED) != 0) != ANYQ -> assert(false) }
    od
}

#ifdef LIVE
ltl live { <> (done == N) }
#endif
