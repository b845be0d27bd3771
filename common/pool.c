#include <pthread.h>

#include "pool.h"

struct pool {
	void		(*fn)(void *, size_t);
	void		*arg;
	size_t		 n;
	size_t		 next;		/* taken atomically by the workers */
};

static void *
pool_worker(void *arg)
{
	struct pool *p = arg;
	size_t i;

	while ((i = __atomic_fetch_add(&p->next, 1, __ATOMIC_SEQ_CST)) < p->n)
		p->fn(p->arg, i);
	return NULL;
}

void
pool_run(size_t n, unsigned long conc, void (*fn)(void *, size_t), void *arg)
{
	struct pool p = { fn, arg, n, 0 };
	pthread_t th[POOL_THREADS_MAX];
	size_t i, nth = conc < n ? conc : n;

	if (nth > POOL_THREADS_MAX)
		nth = POOL_THREADS_MAX;
	for (i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, pool_worker, &p) != 0)
			break;
	nth = i;
	/* Not even one thread: do the work here rather than not at all. */
	if (nth == 0)
		pool_worker(&p);
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
}
