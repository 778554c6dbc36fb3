/* The primitives the torture driver runs, in order: one line each, and one
 * file test/stress/torture_<name>.c defining `torture_<name>` (torture.h). */
TORTURE_PRIM(lock)
TORTURE_PRIM(rlock)
TORTURE_PRIM(cond)
TORTURE_PRIM(sem)
TORTURE_PRIM(event)
TORTURE_PRIM(barrier)
TORTURE_PRIM(gil)
TORTURE_PRIM(timer)
TORTURE_PRIM(local)
TORTURE_PRIM(wait)
TORTURE_PRIM(thread)
TORTURE_PRIM(fork)
