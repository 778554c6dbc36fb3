/* Promela model of the shared queue of Condition (src/cond.c, a condition
 * inside a shared-memory region: shared_wait / shared_notify) over the wait
 * layer (futex semantics).
 *
 * The words, as in src/cond.c ("The shared queue"): SEQ, the futex word, +1
 * by every notify that chose someone; the counts word, UNCHOSEN (bits 0-15:
 * waiters no notify has counted yet) and CHOSEN (bits 16-31: notifications
 * not yet claimed), two bytes here.  Every change is made under the bound
 * lock, modelled as a plain mutex (acquire: one atomic step when free).
 *
 *   wait      under the lock: e = SEQ; UNCHOSEN + 1 (register); loop:
 *             release the lock; while SEQ == e and rc == OK: rc =
 *             wait(SEQ, e, deadline) (the spin phase is the same loads);
 *             re-take the lock; claim: SEQ != e and CHOSEN > 0 -> CHOSEN - 1,
 *             CT_OK; else timed out (rc == ETIMEDOUT, or the deadline passed:
 *             a free choice for a timed wait) -> UNCHOSEN - 1, CT_ETIMEDOUT;
 *             else e = SEQ and loop (our notification went to another)
 *   notify(n) under the lock: k = min(n, UNCHOSEN); k == 0 -> 0; else
 *             UNCHOSEN - k, CHOSEN + k (one atomic), SEQ + 1, then wake one
 *             if k == 1 else wake all (three steps, as in C); returns k
 *
 * The wait layer, futex semantics as in lock.pml: compare-and-sleep is one
 * atomic step, and so is a wake (wake_one dequeues any one sleeper, wake_all
 * every one); a timed wait may time out at any moment while it sleeps (or
 * before it compares: deadline already passed), dequeued in the same step;
 * SPURIOUS spurious CT_OK returns in all (a budget, so that a lost wake-up
 * is not masked by an endless supply of them).
 *
 * Threads: N waiters (pids 0..N-1) each do ITER waits; waiter 0 always waits
 * untimed, the others choose per wait between untimed and timed.  One
 * notifier does OPS calls of notify(1), notify(2) or notify_all (a free
 * choice each, at any moment, under the lock).  Rescue: when its OPS calls
 * are done and every unfinished waiter is registered with no notification
 * outstanding (CHOSEN == 0, UNCHOSEN + finished == N), the notifier calls
 * notify_all (a legal call, counted like the others): without it, a waiter
 * nobody notifies again would be a legitimate hang, not a lost wake-up.  A
 * hang with CHOSEN > 0 is never rescued.
 *
 * Checked (safety run, spin -DSAFETY; every interleaving):
 *   - exactness: never more CT_OK returns than notify has returned in total
 *     so far (asserted at each claim), and at the end (all waiters done)
 *     the total of notify's return values equals the number of CT_OK
 *     returns, with UNCHOSEN == CHOSEN == 0;
 *   - eligibility: a wait returns CT_OK only if SEQ moved since it
 *     registered (ghost: SEQ at registration), i.e. a notify that chose
 *     someone came after it;
 *   - no underflow of UNCHOSEN or CHOSEN;
 *   - no lost wake-up: a waiter asleep with nobody left to wake it (the
 *     notifier stuck because a notification is outstanding) is an invalid
 *     end state.
 * Liveness run (-DLIVE, spin -a -f: weak fairness): every waiter finishes:
 * ltl <> (finished == N).
 * Not modelled: the CT_EAGAIN guard (UNCHOSEN full), SEQ wrap (a byte here,
 * never near 256), EOWNERDEAD on re-taking a robust lock, memory orders.
 *
 * Deliberately broken variants (each must be caught):
 *   WAKE_BEFORE_SEQ     notify wakes before it increments SEQ: the woken
 *                       sleeper sees SEQ == e and sleeps again, unwoken.
 *   SEQ_AFTER_UNLOCK    the waiter reads e after releasing the lock (first
 *                       round): a notify in between is missed.
 *   NO_CLAIM_ON_TIMEOUT a timed-out waiter that finds SEQ != e and
 *                       CHOSEN > 0 uncounts itself instead of claiming: the
 *                       woken one's notification strands.
 *   NO_ELIGIBILITY      claim without checking SEQ != e: a waiter that came
 *                       after the notify steals it.
 *   WAKE_ONE_ALWAYS     wake one even when k > 1.
 * must-fail: WAKE_BEFORE_SEQ SEQ_AFTER_UNLOCK NO_CLAIM_ON_TIMEOUT NO_ELIGIBILITY WAKE_ONE_ALWAYS
 *
 * Search sizes (2 cores, CPU time, first run on src/cond.c as of 5504b9a):
 * N=2 ITER=2 0.16M states, 0.1 s; N=3 ITER=1 1.9M states, 1 s at -O2;
 * liveness N=2 39k states, N=3 1.9M states (12M visited), 6 s; N=3 ITER=2
 * (check.sh --full) 24M states, 30 s, 1.6 GB.  Each must-fail variant is
 * caught at N=3 within 0.4M states: WAKE_BEFORE_SEQ, SEQ_AFTER_UNLOCK and
 * WAKE_ONE_ALWAYS as invalid end states (a waiter asleep, CHOSEN > 0),
 * NO_CLAIM_ON_TIMEOUT by the UNCHOSEN underflow assert, NO_ELIGIBILITY by
 * the eligibility assert (seq != rseq).
 * checks: -DN=2 -DITER=2 | -DN=3 -DITER=1
 * checks-full: -DN=3 -DITER=2
 */
#ifndef N
#define N 3             /* waiter threads */
#endif
#ifndef ITER
#define ITER 1          /* waits per waiter */
#endif
#ifndef OPS
#define OPS 2           /* notify calls (rescues apart) */
#endif
#ifndef SPURIOUS
#define SPURIOUS 1      /* spurious OK returns from waits, in all */
#endif

#define OK       0
#define TIMEDOUT 1
#define ALL      255    /* notify_all: n = UINT_MAX */

byte lk = 0;                /* the bound lock: 0 free, else holder pid + 1 */
byte seq = 0;               /* SEQ, the futex word */
byte unchosen = 0;          /* UNCHOSEN */
byte chosen = 0;            /* CHOSEN */
bool sleeping[N];           /* the wait queue of SEQ */
byte spurious = SPURIOUS;   /* spurious wake-up budget */
byte finished = 0;          /* waiters done with all their waits */
byte notified = 0;          /* ghost: total of notify's return values */
byte oks = 0;               /* ghost: waits that returned CT_OK */

inline lock() { atomic { lk == 0 -> lk = _pid + 1 } }
inline unlock() { atomic { assert(lk == _pid + 1); lk = 0 } }

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

inline wake_all() {
    d_step {
        i = 0;
        do
        :: i < N -> sleeping[i] = false; i++
        :: else -> break
        od;
        i = 0
    }
}

/* rc = ct__wait_until(&SEQ, e, timed ? deadline : CT__NO_DEADLINE) */
inline wait_word() {
    if
    :: timed -> rc = TIMEDOUT                   /* deadline already passed */
    :: true ->
        atomic { if :: seq == e -> sleeping[_pid] = true :: else -> skip fi };
        if
        :: !sleeping[_pid] -> rc = OK           /* woken, or the value differed */
        :: atomic { timed && sleeping[_pid] -> sleeping[_pid] = false; rc = TIMEDOUT }
        :: atomic { spurious > 0 && sleeping[_pid] ->
                    sleeping[_pid] = false; spurious--; rc = OK }
        fi
    fi
}

/* shared_notify(n), the caller holding the lock; k = the return value */
inline notify() {
    k = (n < unchosen -> n : unchosen);
    if
    :: k == 0 -> skip
    :: else ->
        atomic { unchosen = unchosen - k; chosen = chosen + k; notified = notified + k };
#ifdef WAKE_BEFORE_SEQ
        if :: k == 1 -> wake_one() :: else -> wake_all() fi;
        seq++
#else
        seq++;
#ifdef WAKE_ONE_ALWAYS
        wake_one()
#else
        if :: k == 1 -> wake_one() :: else -> wake_all() fi
#endif
#endif
    fi;
    k = 0; n = 0
}

active [N] proctype waiter()
{
    byte e, rseq, round = 0;
    bool timed, to, done, first;
    bit rc;

    do
    :: round == ITER -> break
    :: else ->
        if :: _pid == 0 -> timed = false
           :: _pid != 0 -> timed = false
           :: _pid != 0 -> timed = true
        fi;
        lock();
        /* register */
#ifndef SEQ_AFTER_UNLOCK
        e = seq;
#endif
        atomic { unchosen++; rseq = seq };
        first = true;
        do
        :: done -> break
        :: else ->
            unlock();
#ifdef SEQ_AFTER_UNLOCK
            if :: first -> e = seq :: else -> skip fi;
#endif
            first = false;
            rc = OK;
            do
            :: seq != e || rc != OK -> break
            :: else -> wait_word()
            od;
            lock();
            to = (rc == TIMEDOUT);
            if :: timed -> to = true :: true -> skip fi;     /* deadline passed? */
            atomic {
#ifdef NO_CLAIM_ON_TIMEOUT
                if
                :: to -> assert(unchosen > 0); unchosen--; done = true
                :: else -> skip
                fi;
#endif
                if
                :: done -> skip
#ifdef NO_ELIGIBILITY
                :: chosen > 0 ->
#else
                :: seq != e && chosen > 0 ->
#endif
                    chosen--; oks++;
                    assert(seq != rseq);        /* a notify after registering */
                    assert(oks <= notified);    /* exactness, so far */
                    done = true
                :: else ->
                    if
                    :: to -> assert(unchosen > 0); unchosen--; done = true
                    :: else -> e = seq          /* our notification went to another */
                    fi
                fi
            }
        od;
        unlock();
        d_step { done = false; to = false; rc = OK; e = 0; rseq = 0; timed = false };
        round++
    od;
    finished++
}

active proctype notifier()
{
    byte ops = OPS, n, k, i;

    do
    :: ops > 0 -> ops--;
        if :: n = 1 :: n = 2 :: n = ALL fi;
        lock(); notify(); unlock()
    :: atomic { ops == 0 && lk == 0 && chosen == 0 && unchosen > 0 &&
                unchosen + finished == N -> lk = _pid + 1 };       /* the rescue */
        n = ALL; notify(); unlock()
    :: finished == N -> break
    od;
    assert(oks == notified && unchosen == 0 && chosen == 0)
}

#ifdef LIVE
ltl live { <> (finished == N) }
#endif
