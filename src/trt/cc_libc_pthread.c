/* pthread.h and semaphore.h for the compiler tracker (cc_libc.h): musl
 * writes these objects with its own atomics. A heap mutex held across a
 * pre-copy round must reach the destination in its latest state, so the
 * whole object is made present before each call and marked after it.
 *
 * Left to the futex: a thread blocked inside a call wrote the object (a
 * waiter count, a waiting bit) before it slept, and marks it only when the
 * call returns. musl re-checks both after every wake (the futex compares
 * the word first), so a destination that got the object as of the last
 * completed call sees a spurious wake or an extra wake-up, never a lost
 * one. */
#include "cc_libc.h"
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

/* int name(T *o): object covered around the call. */
#define WRAP_O(name, T)                                     \
    CC_DECL(int, name, (T * o))                             \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(o);                        \
        cc_rd(o, sizeof *o);                                \
        int r = __real_##name(o);                           \
        cc_wr(o, sizeof *o);                                \
        return r;                                           \
    }
/* int name(T *o, A *a): same, and *a (a timeout, an attribute) read. */
#define WRAP_OP(name, T, A)                                 \
    CC_DECL(int, name, (T * o, A * a))                      \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(o, a);                     \
        cc_rd(o, sizeof *o);                                \
        if (a)                                              \
            cc_rd(a, sizeof *a);                            \
        int r = __real_##name(o, a);                        \
        cc_wr(o, sizeof *o);                                \
        return r;                                           \
    }
/* int name(T *o, int/size_t v): a setter. */
#define WRAP_OV(name, T, A)                                 \
    CC_DECL(int, name, (T * o, A a))                        \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(o, a);                     \
        cc_rd(o, sizeof *o);                                \
        int r = __real_##name(o, a);                        \
        cc_wr(o, sizeof *o);                                \
        return r;                                           \
    }

WRAP_O(pthread_mutex_lock, pthread_mutex_t)
WRAP_O(pthread_mutex_trylock, pthread_mutex_t)
WRAP_O(pthread_mutex_unlock, pthread_mutex_t)
WRAP_O(pthread_mutex_destroy, pthread_mutex_t)
WRAP_O(pthread_mutex_consistent, pthread_mutex_t)
WRAP_OP(pthread_mutex_timedlock, pthread_mutex_t, const struct timespec)
WRAP_OP(pthread_mutex_init, pthread_mutex_t, const pthread_mutexattr_t)

WRAP_O(pthread_cond_signal, pthread_cond_t)
WRAP_O(pthread_cond_broadcast, pthread_cond_t)
WRAP_O(pthread_cond_destroy, pthread_cond_t)
WRAP_OP(pthread_cond_init, pthread_cond_t, const pthread_condattr_t)

/* The wait also unlocks and relocks the mutex. */
CC_DECL(int, pthread_cond_wait, (pthread_cond_t *restrict c, pthread_mutex_t *restrict m))
{
    if (!cc_on())
        return __real_pthread_cond_wait(c, m);
    cc_rd(c, sizeof *c);
    cc_rd(m, sizeof *m);
    int r = __real_pthread_cond_wait(c, m);
    cc_wr(c, sizeof *c);
    cc_wr(m, sizeof *m);
    return r;
}

CC_DECL(int, pthread_cond_timedwait,
        (pthread_cond_t *restrict c, pthread_mutex_t *restrict m, const struct timespec *restrict t))
{
    if (!cc_on())
        return __real_pthread_cond_timedwait(c, m, t);
    cc_rd(c, sizeof *c);
    cc_rd(m, sizeof *m);
    cc_rd(t, sizeof *t);
    int r = __real_pthread_cond_timedwait(c, m, t);
    cc_wr(c, sizeof *c);
    cc_wr(m, sizeof *m);
    return r;
}

WRAP_O(pthread_rwlock_rdlock, pthread_rwlock_t)
WRAP_O(pthread_rwlock_tryrdlock, pthread_rwlock_t)
WRAP_O(pthread_rwlock_wrlock, pthread_rwlock_t)
WRAP_O(pthread_rwlock_trywrlock, pthread_rwlock_t)
WRAP_O(pthread_rwlock_unlock, pthread_rwlock_t)
WRAP_O(pthread_rwlock_destroy, pthread_rwlock_t)
WRAP_OP(pthread_rwlock_timedrdlock, pthread_rwlock_t, const struct timespec)
WRAP_OP(pthread_rwlock_timedwrlock, pthread_rwlock_t, const struct timespec)
WRAP_OP(pthread_rwlock_init, pthread_rwlock_t, const pthread_rwlockattr_t)

WRAP_O(pthread_spin_lock, pthread_spinlock_t)
WRAP_O(pthread_spin_trylock, pthread_spinlock_t)
WRAP_O(pthread_spin_unlock, pthread_spinlock_t)
WRAP_O(pthread_spin_destroy, pthread_spinlock_t)
WRAP_OV(pthread_spin_init, pthread_spinlock_t, int)

WRAP_O(pthread_barrier_wait, pthread_barrier_t)
WRAP_O(pthread_barrier_destroy, pthread_barrier_t)
CC_DECL(int, pthread_barrier_init, (pthread_barrier_t *restrict b, const pthread_barrierattr_t *restrict a, unsigned n))
{
    if (!cc_on())
        return __real_pthread_barrier_init(b, a, n);
    cc_rd(b, sizeof *b);
    int r = __real_pthread_barrier_init(b, a, n);
    cc_wr(b, sizeof *b);
    return r;
}

WRAP_O(sem_wait, sem_t)
WRAP_O(sem_trywait, sem_t)
WRAP_O(sem_post, sem_t)
WRAP_O(sem_destroy, sem_t)
WRAP_OP(sem_timedwait, sem_t, const struct timespec)
CC_DECL(int, sem_init, (sem_t * s, int pshared, unsigned v))
{
    if (!cc_on())
        return __real_sem_init(s, pshared, v);
    cc_rd(s, sizeof *s);
    int r = __real_sem_init(s, pshared, v);
    cc_wr(s, sizeof *s);
    return r;
}
CC_DECL(int, sem_getvalue, (sem_t *restrict s, int *restrict v))
{
    if (!cc_on())
        return __real_sem_getvalue(s, v);
    cc_rd(s, sizeof *s);
    cc_rd(v, sizeof *v);
    int r = __real_sem_getvalue(s, v);
    cc_wr(v, sizeof *v);
    return r;
}

/* init() is app code; the control word is musl's. */
CC_DECL(int, pthread_once, (pthread_once_t * o, void (*init)(void)))
{
    int on = cc_on();
    if (on)
        cc_rd(o, sizeof *o);
    int r = __real_pthread_once(o, init);
    if (on)
        cc_wr(o, sizeof *o);
    return r;
}

/* Attribute objects: written by musl's init and setters. */
WRAP_O(pthread_attr_init, pthread_attr_t)
WRAP_O(pthread_attr_destroy, pthread_attr_t)
WRAP_OV(pthread_attr_setdetachstate, pthread_attr_t, int)
WRAP_OV(pthread_attr_setstacksize, pthread_attr_t, size_t)
WRAP_OV(pthread_attr_setguardsize, pthread_attr_t, size_t)
WRAP_O(pthread_mutexattr_init, pthread_mutexattr_t)
WRAP_O(pthread_mutexattr_destroy, pthread_mutexattr_t)
WRAP_OV(pthread_mutexattr_settype, pthread_mutexattr_t, int)
WRAP_OV(pthread_mutexattr_setpshared, pthread_mutexattr_t, int)
WRAP_OV(pthread_mutexattr_setrobust, pthread_mutexattr_t, int)
WRAP_O(pthread_condattr_init, pthread_condattr_t)
WRAP_O(pthread_condattr_destroy, pthread_condattr_t)
WRAP_OV(pthread_condattr_setclock, pthread_condattr_t, clockid_t)
WRAP_O(pthread_rwlockattr_init, pthread_rwlockattr_t)
WRAP_O(pthread_rwlockattr_destroy, pthread_rwlockattr_t)

/* Outputs through a pointer. */
CC_DECL(int, pthread_create,
        (pthread_t *restrict t, const pthread_attr_t *restrict a, void *(*fn)(void *), void *restrict arg))
{
    int on = cc_on();
    if (on) {
        cc_rd(t, sizeof *t);
        if (a)
            cc_rd(a, sizeof *a);
    }
    int r = __real_pthread_create(t, a, fn, arg);
    if (on)
        cc_wr(t, sizeof *t);
    return r;
}

CC_DECL(int, pthread_join, (pthread_t t, void **ret))
{
    int on = cc_on() && ret;
    if (on)
        cc_rd(ret, sizeof *ret);
    int r = __real_pthread_join(t, ret);
    if (on)
        cc_wr(ret, sizeof *ret);
    return r;
}

CC_DECL(int, pthread_key_create, (pthread_key_t * k, void (*dtor)(void *)))
{
    int on = cc_on();
    if (on)
        cc_rd(k, sizeof *k);
    int r = __real_pthread_key_create(k, dtor);
    if (on)
        cc_wr(k, sizeof *k);
    return r;
}

/* Getters: one output word. */
#define WRAP_GET(name, T, A)                                \
    CC_DECL(int, name, (const T *restrict o, A *restrict v)) \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(o, v);                     \
        cc_rd(o, sizeof *o);                                \
        cc_rd(v, sizeof *v);                                \
        int r = __real_##name(o, v);                        \
        cc_wr(v, sizeof *v);                                \
        return r;                                           \
    }
WRAP_GET(pthread_attr_getdetachstate, pthread_attr_t, int)
WRAP_GET(pthread_attr_getstacksize, pthread_attr_t, size_t)
WRAP_GET(pthread_attr_getguardsize, pthread_attr_t, size_t)
WRAP_GET(pthread_mutexattr_gettype, pthread_mutexattr_t, int)
