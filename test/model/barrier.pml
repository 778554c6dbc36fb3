/* Promela model of Barrier (src/barrier.c) over the wait layer (futex semantics).
 *
 * The state word w, as in src/barrier.c: bits 0-15 count (arrivals of the
 * current generation that have not left), bit 16 PARKED, bits 17-18 the
 * phase (FILLING 0, RESETTING 1, BROKEN 2), bits 19.. the generation.  The
 * constants below are the C ones (test/model/tie.sh checks).  Each function
 * of barrier.c is an inline here (or a part of one) with a fn tag naming it;
 * tie.sh checks that the tags plus the not-modelled line below name exactly
 * the functions barrier.c defines.
 *
 * Steps.  Every atomic read-modify-write of the C code is one atomic step,
 * and so is each compare-and-sleep, each timeout or wake-up of a sleeper and
 * each ct_wake_all (a separate step after the transition it follows, as in
 * C).  A C loop "load s; decide on s; CAS s -> f(s), on failure retry with
 * the reloaded s" is one step, its successful CAS with the load merged into
 * it: the CAS succeeds only if the word still equals the loaded value, so
 * the successful round is the same as reading the word at the CAS, and a
 * failed round only reloads (so do the spurious failures of a weak CAS).
 * The same holds for a load that decides to wait, merged with await_change's
 * CAS s -> s|PARKED (which fails, returning CT_OK, if the word moved; if
 * PARKED is already set, the compare-and-sleep that follows checks s).  A
 * load that decides a return (released, broken) is a step of its own (with
 * the ghost checks).  The spin phase of await_change is not modelled: a spin
 * load that sees a change returns CT_OK like the failed PARKED CAS, and one
 * that sees none leads to the same park.
 *
 *   wait_timeout  loop: load s: BROKEN -> CT_EBROKEN (not arrived);
 *                 RESETTING or count == parties -> await_change (untimed);
 *                 else CAS s -> s+1 (arrived; index = the old count).  Then
 *                 the last arrival (index+1 == parties) runs
 *                 release_generation, the others await_release; a negative
 *                 result -> leave
 *   release_generation  tl_in_action = b; the action: succeeds, fails, or
 *                 calls ct_barrier_reset / ct_barrier_abort and succeeds (a
 *                 free choice); a failure -> break_barrier (still in the
 *                 action: exempt), CT_EBROKEN; else: phase != FILLING ->
 *                 CT_EBROKEN, else CAS s -> (gen+1, 0, FILLING), then
 *                 wake_if_parked(old)
 *   await_release loop: load s: another generation -> released (index);
 *                 phase != FILLING -> CT_EBROKEN; else await_change (timed
 *                 if the wait is); on CT_ETIMEDOUT, loop while (gen,
 *                 FILLING): count == parties -> await_untimed (wait for the
 *                 release), else CAS -> BROKEN (PARKED cleared),
 *                 wake_if_parked, CT_ETIMEDOUT; after the loop: released if
 *                 the generation moved, else CT_EBROKEN
 *   leave         CAS s -> s-1, and -> (gen, 0, FILLING) if that empties a
 *                 RESETTING word; that one then wakes if PARKED was set
 *   ct_barrier_reset  action_elsewhere(s) -> await_untimed; else CAS s ->
 *                 (gen, count, count == 0 ? FILLING : RESETTING);
 *                 wake_if_parked(old)
 *   break_barrier / ct_barrier_abort  action_elsewhere(s) -> await_untimed;
 *                 else CAS s -> (gen, count, BROKEN); wake_if_parked(old)
 *   action_elsewhere(s)  s is (FILLING, count == parties) and this thread is
 *                 not in the action (tl_in_action != b)
 *   await_change  if !(s & PARKED): CAS s -> s|PARKED; then
 *                 ct__wait_until(w, s|PARKED, deadline)
 *   await_untimed await_change(s, no deadline), then a load
 *
 * The wait layer (ct__wait_until / ct_wake_all), futex semantics as in
 * lock.pml: the comparison and going to sleep are one atomic step, and so is
 * ct_wake_all (it dequeues every sleeper of the word); a timed wait may time
 * out at any moment while it sleeps (or before it compares: deadline already
 * passed), dequeued in the same step; SPURIOUS spurious CT_OK returns in all.
 *
 * Threads: P parties (default 2); N waiter threads (pids 0..N-1) each do
 * ITER waits.  Thread 0 always waits untimed (so that a lost wake-up strands
 * someone); threads 1..TIMED choose per wait between untimed and timed (the
 * deadline may pass at any moment), the rest wait untimed.  One
 * controller thread (pid N) calls ct_barrier_reset or ct_barrier_abort OPS
 * times, at any moment (so also while another thread runs the action), and
 * the action may call either from inside (the exemption).  Rescue: when the
 * only unfinished waiters are members of a filling generation that can never
 * fill (everyone else is done), the controller calls ct_barrier_reset (a
 * legal call; without it that legitimate hang would be an invalid end
 * state).  Otherwise every thread that stays asleep is an invalid end state.
 *
 * Ghost bookkeeping: a "round" is the life of one (generation, filling)
 * from its empty word to its release or break (a reset reuses the
 * generation number, so rounds are counted apart: slots, reused once every
 * member has decided).  Each arrival records its round; when its result is
 * decided it is checked against the round's other members.
 *
 * Checked (safety run, spin -DSAFETY; every interleaving):
 *   - same outcome: the members of a round are either all released, with
 *     distinct indexes that are exactly 0..parties-1, or all fail
 *     (CT_EBROKEN, or CT_ETIMEDOUT for one whose deadline broke it);
 *   - a round whose action succeeded (and did not reset or abort from
 *     inside) is released: no member of it fails, whatever reset, abort or
 *     timeout raced the release (so a reset/abort from another thread during
 *     the action waits and applies to the next generation, and a deadline
 *     passing during the action keeps the waiter waiting);
 *   - a reset or abort from inside the action applies at once: that round
 *     fails (its releaser gets CT_EBROKEN) and the call does not block;
 *   - the count equals the round's undecided arrivals at every arrival, never
 *     underflows, and nobody leaves a FILLING word; a reset never sees
 *     RESETTING with count 0;
 *   - no lost wake-up / no deadlock: a thread asleep on the word with nobody
 *     left to wake it (or a reset/abort waiting for ever) is an invalid end
 *     state;
 *   - at the end: count 0, not RESETTING, PARKED clear, no round open.
 * Liveness run (-DLIVE, spin -a -f: weak fairness): every waiter finishes:
 * ltl <> (finished == N).
 * Not modelled: failed CAS rounds and the spin phase (see Steps), generation
 * wrap (13 bits; see barrier.c), an action that waits on the
 * barrier or blocks until another thread resets it (a deadlock by contract,
 * as in CPython), memory orders, ct_barrier_broken / n_waiting / parties
 * (snapshots).
 * not-modelled: word ct_barrier_init ct_barrier_broken ct_barrier_parties ct_barrier_n_waiting
 *
 * Deliberately broken variants (each must be caught):
 *   RESET_NOWAIT   a reset or abort from another thread does not wait for a
 *                  running action (the round-one bug, mutation m17): it
 *                  voids a round whose action succeeds -> assertion.
 *   TIMEOUT_BREAKS a waiter whose deadline passes while the action runs
 *                  breaks the barrier instead of waiting -> assertion.
 *   RELEASE_NOWAKE the release never calls wake_if_parked: a waiter asleep
 *                  on the old generation stays asleep -> invalid end state.
 *   SELF_WAIT      ct_barrier_reset drops the exemption (ignores
 *                  tl_in_action): a reset from inside the action waits for
 *                  its own release, a self-deadlock -> invalid end state.
 *   BREAK_NOWAKE   break_barrier (abort, failed action) forgets the wake.
 *   LEAVE_NOWAKE   the last one out of a reset forgets to wake the
 *                  arrivals waiting for the reset to finish.
 *   PARK_BLIND     await_change sleeps without setting PARKED: no transition
 *                  knows to wake it.
 *   NO_GEN         the release empties the count but keeps the generation:
 *                  the released waiters cannot tell they were released.
 *   INDEX_RELOAD   the arrival index is read from a fresh load after the
 *                  arrival CAS instead of the CAS's old value: two arrivals
 *                  can get the same index (both think they are the last).
 * must-fail: RESET_NOWAIT TIMEOUT_BREAKS RELEASE_NOWAKE SELF_WAIT BREAK_NOWAKE LEAVE_NOWAKE PARK_BLIND NO_GEN INDEX_RELOAD
 *
 * Search sizes (parties 2, one reset/abort by the controller, 2 loaded
 * cores, CPU time): N=2 ITER=2 0.55M states, 2 s at -O0; N=3 without
 * spurious wake-ups, waiter 1 the only timed one, 1.4M states, 2 s at -O2
 * (plus 5 s to compile); N=3 with both (check.sh --full) 5.9M states, 8 s,
 * 1 GB, its liveness run 30 s.  Each must-fail variant is caught at N=3 in
 * under a second (a few hundred to 0.2M states).
 * checks: -DN=2 -DITER=2 | -DN=3 -DSPURIOUS=0 -DTIMED=1
 * checks-full: -DN=3
 */
#ifndef N
#define N 3             /* waiter threads */
#endif
#ifndef P
#define P 2             /* parties */
#endif
#ifndef ITER
#define ITER 1          /* waits per waiter thread */
#endif
#ifndef OPS
#define OPS 1           /* reset/abort calls by the controller (rescues apart) */
#endif
#ifndef TIMED
#define TIMED N         /* waiters 1..TIMED may use a timed wait (waiter 0 never) */
#endif
#ifndef SPURIOUS
#define SPURIOUS 1      /* spurious OK returns from waits, in all */
#endif

/* model-constants: keep equal to src/internal/barrier_word.h (test/model/tie.sh checks) */
#define COUNT_MASK  65535
#define PARKED      (1 << 16)
#define FILLING     (0 << 17)
#define RESETTING   (1 << 17)
#define BROKEN      (2 << 17)
#define PHASE_MASK  (3 << 17)
#define GEN_ONE     (1 << 19)
#define GEN_MASK    (~(GEN_ONE - 1))

#define COUNT(x)    ((x) & COUNT_MASK)
#define PHASE(x)    ((x) & PHASE_MASK)
#define GEN(x)      ((x) & GEN_MASK)

/* wait-layer results, and the barrier's (an index >= 0, or one of these) */
#define OK          0
#define TIMEDOUT    1
#define EBROKEN     (-1)
#define ETIMEDOUT   (-2)

#define NS          (N + 1)     /* round slots: every open round but the current one has an undecided member */
#define O_PASS      1
#define O_BROKEN    2

int w = 0;                      /* the state word: generation 0, FILLING, empty */
bool sleeping[N + 1];           /* the wait queue of the word (waiters, controller) */
byte spurious = SPURIOUS;       /* spurious wake-up budget */
byte finished = 0;              /* waiter threads done with all their waits */
/* ghost: rounds */
byte cur = 0;                   /* the slot of the current round */
byte members[NS];               /* its arrivals whose result is not decided yet */
byte outcome[NS];               /* 0, O_PASS or O_BROKEN: the results decided so far */
byte passmask[NS];              /* the indexes its released members returned */
bool action_ok[NS];             /* its action succeeded without resetting/aborting */
hidden byte k = 0;              /* ghost scratch (0 between steps) */

/* fn: action_elsewhere */
#if defined(RESET_NOWAIT)
#define action_elsewhere(x) false
#else
#define action_elsewhere(x) (PHASE(x) == FILLING && COUNT(x) == P && !inact)
#endif
#ifdef SELF_WAIT
#define reset_waits(x)      (PHASE(x) == FILLING && COUNT(x) == P)
#else
#define reset_waits(x)      action_elsewhere(x)
#endif

/* The rescue: the unfinished waiters are exactly the undecided members of the
 * current round, which is filling and can never fill. */
#define stuck (members[cur] > 0 && finished + members[cur] == N && \
               PHASE(w) == FILLING && COUNT(w) < P)

/* ghost, inside the step that empties the word: a new round begins */
inline new_round() {
    if
    :: members[cur] == 0 -> assert(outcome[cur] == 0 && !action_ok[cur])
    :: else ->
        k = 0;
        do
        :: k == NS -> assert(false)
        :: k < NS && k != cur && members[k] == 0 -> break
        :: else -> k++
        od;
        cur = k; k = 0
    fi
}

/* ghost, inside the step that decides this arrival's result rc (before it
 * leaves): check it against the round's other members, then forget what is
 * no longer needed (rc becomes 0 released, EBROKEN not) */
inline decide() {
    assert(members[my] > 0);
    if
    :: rc >= 0 ->
        assert(outcome[my] != O_BROKEN);                /* same outcome */
        assert(rc < P && !(passmask[my] & (1 << rc)));  /* distinct indexes */
        outcome[my] = O_PASS; passmask[my] = passmask[my] | (1 << rc); rc = 0
    :: else ->
        assert(outcome[my] != O_PASS);                  /* same outcome */
        assert(!action_ok[my]);                         /* a completed round is released */
        outcome[my] = O_BROKEN; rc = EBROKEN
    fi;
    assert(!inner || rc < 0);                           /* an in-action reset/abort applies */
    members[my]--;
    if
    :: members[my] == 0 ->
        assert(outcome[my] == O_BROKEN || passmask[my] == (1 << P) - 1);
        outcome[my] = 0; passmask[my] = 0; action_ok[my] = false
    :: else -> skip
    fi;
    my = 0; idx = 0; gen = 0; inner = false
}

/* ct_wake_all(&w): dequeue every sleeper */
inline wake_all() {
    d_step {
        sleeping[0] = false; sleeping[1] = false; sleeping[2] = false
#if N > 2
        ; sleeping[3] = false
#endif
    }
}

/* fn: wake_if_parked */
inline wake_if_parked(old) {
    if
    :: (old) & PARKED -> wake_all()
    :: else -> skip
    fi
}

/* fn: await_change, first half, inside the step that loaded s and found it
 * worth waiting for: the CAS s -> s|PARKED (w == s here) */
inline park() {
#ifndef PARK_BLIND
    if :: !(s & PARKED) -> w = s | PARKED; s = w :: else -> skip fi;
#endif
    wt = true
}

/* await_change, second half: wrc = ct__wait_until(&w, s, tmd ? deadline :
 * CT__NO_DEADLINE); the caller reloads s afterwards */
inline wait_word(tmd) {
    wt = false;
    if
    :: tmd -> wrc = TIMEDOUT                    /* deadline already passed */
    :: true ->
        d_step { if :: w == s -> sleeping[_pid] = true :: else -> skip fi };
        if
        :: !sleeping[_pid] -> wrc = OK          /* woken, or the value differed */
        :: d_step { tmd && sleeping[_pid] -> sleeping[_pid] = false; wrc = TIMEDOUT }
        :: d_step { spurious > 0 && sleeping[_pid] ->
                    sleeping[_pid] = false; spurious--; wrc = OK }
        fi
    fi
}

/* fn: break_barrier ct_barrier_abort */
inline do_break() {
    do
    :: d_step {
           s = w;
           if
           :: action_elsewhere(s) -> park()     /* fn: await_untimed */
           :: else -> w = (s & ~(PHASE_MASK | PARKED)) | BROKEN; done = true
           fi
       };
       if :: done -> break :: else -> wait_word(false) fi
    od;
    done = false;
#ifndef BREAK_NOWAKE
    wake_if_parked(s);
#endif
    s = 0
}

/* fn: ct_barrier_reset */
inline do_reset() {
    do
    :: d_step {
           s = w;
           if
           :: reset_waits(s) -> park()          /* the action is atomic with its release */
           :: else ->
               if
               :: COUNT(s) == 0 ->
                   assert(PHASE(s) != RESETTING);
                   w = GEN(s) | FILLING; new_round()
               :: else -> w = GEN(s) | COUNT(s) | RESETTING
               fi;
               done = true
           fi
       };
       if :: done -> break :: else -> wait_word(false) fi
    od;
    done = false;
    wake_if_parked(s);
    s = 0
}

/* fn: release_generation */
inline release_generation() {
    inact = true;                               /* tl_in_action = b */
    if
    :: skip                                     /* the action succeeds */
    :: d_step { brk = true; rc = EBROKEN; dec = true; decide() }   /* it fails (non-zero) */
    :: inner = true; do_reset()                 /* it resets, then succeeds */
    :: inner = true; brk = true                 /* it aborts, then succeeds */
    fi;
    if :: brk -> brk = false; do_break() :: else -> skip fi;   /* the abort, or break_barrier after a failure */
    inact = false;
    if
    :: dec -> skip
    :: else ->
        d_step {
            if :: !inner -> action_ok[my] = true :: else -> skip fi;   /* ghost */
            s = w;
            if
            :: PHASE(s) != FILLING -> rc = EBROKEN      /* reset or abort during the action */
            :: else ->
                assert(COUNT(s) == P);
#ifdef NO_GEN
                w = GEN(s);
#else
                w = GEN(s) + GEN_ONE;
#endif
                new_round(); rc = idx; done = true
            fi;
            dec = true; decide()
        };
        if
        :: done ->
            done = false;
#ifndef RELEASE_NOWAKE
            wake_if_parked(s);
#endif
            skip
        :: else -> skip
        fi
    fi
}

/* fn: await_release */
inline await_release() {
    do
    :: dec -> break
    :: else ->
        d_step {
            s = w;
            if
            :: GEN(s) != gen -> rc = idx; dec = true    /* released */
            :: GEN(s) == gen && PHASE(s) != FILLING -> rc = EBROKEN; dec = true
            :: else -> park()
            fi;
            if :: dec -> decide() :: else -> skip fi
        };
        if
        :: dec -> skip
        :: else ->
            wait_word(timed);
            if
            :: wrc == TIMEDOUT ->
                /* break it, unless the release or a break won the race; while
                 * the last arrival runs the action, wait for its release */
                do
                :: dec -> break
                :: else ->
                    d_step {
                        wrc = OK; s = w;
                        if
                        :: GEN(s) != gen -> rc = idx; dec = true
                        :: GEN(s) == gen && PHASE(s) != FILLING -> rc = EBROKEN; dec = true
#ifndef TIMEOUT_BREAKS
                        :: GEN(s) == gen && PHASE(s) == FILLING && COUNT(s) == P ->
                            park()                      /* await_untimed */
                        :: GEN(s) == gen && PHASE(s) == FILLING && COUNT(s) != P ->
#else
                        :: GEN(s) == gen && PHASE(s) == FILLING ->
#endif
                            w = (s & ~(PHASE_MASK | PARKED)) | BROKEN; done = true;
                            rc = ETIMEDOUT; dec = true
                        fi;
                        if :: dec -> decide() :: else -> skip fi
                    };
                    if
                    :: done -> done = false; wake_if_parked(s)
                    :: wt -> wait_word(false)
                    :: else -> skip
                    fi
                od
            :: else -> skip
            fi
        fi
    od
}

/* fn: leave */
inline leave() {
    d_step {
        s = w;
        assert(COUNT(s) > 0 && PHASE(s) != FILLING);
        nxt = s - 1;
        if
        :: COUNT(nxt) == 0 && PHASE(nxt) == RESETTING -> nxt = GEN(nxt); new_round()
        :: else -> skip
        fi;
        w = nxt
    };
#ifndef LEAVE_NOWAKE
    if
    :: PHASE(s) == RESETTING && PHASE(nxt) == FILLING -> wake_if_parked(s)
    :: else -> skip
    fi;
#endif
    d_step { s = 0; nxt = 0 }
}

active [N] proctype waiter()
{
    int s, nxt, gen;
    short rc;
    byte round = 0, my, idx;
    bool timed, arrived, done, inner, brk, inact, dec, wt;
    bit wrc;

    do
    :: round == ITER -> break
    :: else ->
        if :: _pid != 0 && _pid <= TIMED -> timed = true
           :: _pid != 0 && _pid <= TIMED -> timed = false
           :: _pid == 0 || _pid > TIMED -> timed = false
        fi;
        /* fn: wait_timeout ct_barrier_wait ct_barrier_wait_timed */
        do
        :: d_step {
               s = w;
               if
               :: PHASE(s) == BROKEN -> rc = EBROKEN; dec = true    /* not arrived */
               :: PHASE(s) == RESETTING || (PHASE(s) == FILLING && COUNT(s) == P) ->
                   park()                       /* a reset drains, or the action runs */
               :: PHASE(s) == FILLING && COUNT(s) < P ->
                   assert(COUNT(s) == members[cur]);
                   w = s + 1; my = cur; members[cur]++; arrived = true;
                   idx = COUNT(s); gen = GEN(s)  /* the index: the old count */
               fi
           };
           if :: arrived || dec -> break :: else -> wait_word(false) fi
        od;
        if
        :: arrived ->
            arrived = false;
#ifdef INDEX_RELOAD
            idx = COUNT(w) - 1;
#endif
            if
            :: idx + 1 == P -> release_generation()
            :: else -> await_release()
            fi;
            dec = false;
            if :: rc < 0 -> leave() :: else -> skip fi
        :: else -> dec = false                  /* CT_EBROKEN without arriving */
        fi;
        round++;
        d_step { s = 0; rc = 0; timed = false }
    od;
    finished++
}

active proctype controller()
{
    int s, nxt;
    byte ops = OPS, op = 0;
    bool done, inact, wt;
    bit wrc;

end_idle:
    do
    :: op == 0 && ops > 0 -> ops--;
        if
#ifndef NO_RESET_OP
        :: true -> op = 1                       /* ct_barrier_reset */
#endif
#ifndef NO_ABORT_OP
        :: true -> op = 2                       /* ct_barrier_abort */
#endif
        fi
    :: op == 0 && stuck -> op = 1               /* the rescue */
    :: op == 1 -> op = 0; do_reset()
    :: op == 2 -> op = 0; do_break()
    :: op == 0 && finished == N -> break
    od;
    atomic {
        assert(COUNT(w) == 0 && PHASE(w) != RESETTING && !(w & PARKED));
        k = 0;
        do
        :: k < NS -> assert(members[k] == 0); k++
        :: else -> break
        od;
        k = 0
    }
}

#ifdef LIVE
ltl live { <> (finished == N) }
#endif
