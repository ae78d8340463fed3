/*
 * certvault — request counters and latency histograms, kept in one shared
 * anonymous mapping that the master creates before it forks: every worker
 * adds to the same counters with atomic increments, and whichever worker
 * answers GET /metrics reads them all.  Counters survive worker recycling
 * and crashes; they start at zero with the master (Prometheus handles
 * the reset).  SPDX-License-Identifier: ISC
 *
 * The rest of /metrics — pending operations, key pool, worker heartbeats —
 * is shared state in PostgreSQL, read when scraped (store_ops_read).
 */
#include "config.h"

#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certvault.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "route.h"
#include "store.h"

/* Upper bounds of the latency buckets, seconds (Prometheus' defaults). */
static const double buckets[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static const char *const db_kinds[METRICS_DB__MAX] = {
	"unavailable", "timeout", "failed",
};

/*
 * Per route (the last one: requests no route matched), by status; the
 * status index comes from http_status_index (the last: any other).
 */
struct metrics_route {
	uint64_t	 bucket[NBUCKETS];	/* not cumulative */
	uint64_t	 count;
	uint64_t	 sum_us;
	uint64_t	 status[];		/* nstatus + 1 */
};

struct metrics_shm {
	uint64_t	 db_errors[METRICS_DB__MAX];
	uint64_t	 worker_deaths;
	uint64_t	 workers;
	int64_t		 started;
};

static struct metrics_shm	*shm;
static unsigned char		*routes_base;
static size_t			 nroutes, nstatus, route_size;

static struct metrics_route *
metrics_route_at(size_t i)
{

	return (struct metrics_route *)(routes_base + i * route_size);
}

/*
 * Map the counters for n routes.  Called once, before any fork; without
 * it (certvault-admin, certvault-worker) every metrics_* call does nothing.
 */
void
metrics_init(size_t n)
{
	size_t	 sz;
	void	*p;

	nroutes = n;
	nstatus = http_status_count();
	route_size = sizeof(struct metrics_route) +
	    (nstatus + 1) * sizeof(uint64_t);
	route_size = (route_size + 63) & ~(size_t)63;	/* own cache lines */
	sz = sizeof(struct metrics_shm) + 64 + (nroutes + 1) * route_size;
	p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED) {
		log_warnx("no shared memory for metrics: request counters off");
		return;
	}
	shm = p;
	shm->started = (int64_t)time(NULL);
	routes_base = (unsigned char *)p + ((sizeof(*shm) + 63) & ~(size_t)63);
}

static void
add(uint64_t *c, uint64_t v)
{

	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static uint64_t
get(const uint64_t *c)
{

	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* One request: route index (-1: none matched), HTTP status, duration. */
void
metrics_request(int route, int status, double seconds)
{
	struct metrics_route	*m;
	size_t			 b;
	int			 si;

	if (shm == NULL)
		return;
	m = metrics_route_at(route < 0 || (size_t)route >= nroutes ?
	    nroutes : (size_t)route);
	si = http_status_index(status);
	add(&m->status[si < 0 ? nstatus : (size_t)si], 1);
	add(&m->count, 1);
	add(&m->sum_us, seconds > 0 ? (uint64_t)(seconds * 1e6) : 0);
	for (b = 0; b < NBUCKETS && seconds > buckets[b]; b++)
		continue;
	if (b < NBUCKETS)
		add(&m->bucket[b], 1);
}

void
metrics_db_error(int kind)
{

	if (shm != NULL && kind >= 0 && kind < METRICS_DB__MAX)
		add(&shm->db_errors[kind], 1);
}

void
metrics_worker_died(void)
{

	if (shm != NULL)
		add(&shm->worker_deaths, 1);
}

void
metrics_workers_set(unsigned n)
{

	if (shm != NULL)
		__atomic_store_n(&shm->workers, n, __ATOMIC_RELAXED);
}

/*
 * Fill m from the shared counters; false (m zeroed) in a process that has
 * none.  Under a web server that spawns certvault-fcgi itself there is no
 * master and workers stays 0.
 */
bool
metrics_fcgi_get(struct metrics_fcgi *m)
{

	memset(m, 0, sizeof(*m));
	if (shm == NULL)
		return false;
	m->workers = (unsigned)get(&shm->workers);
	m->worker_deaths = get(&shm->worker_deaths);
	m->started = shm->started;
	return true;
}

/* A label value with Prometheus' escapes (backslash, quote, newline). */
static void
label(FILE *f, const char *s)
{

	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void
head(FILE *f, const char *name, const char *type, const char *help)
{

	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
render_requests(FILE *f)
{
	struct metrics_route	*m;
	char			 rl[128];
	uint64_t		 v, cum;
	size_t			 i, s, b;

	head(f, "certvault_http_requests_total", "counter",
	    "Requests answered, by route and HTTP status.");
	for (i = 0; i <= nroutes; i++) {
		m = metrics_route_at(i);
		route_label(i, rl, sizeof(rl));
		for (s = 0; s <= nstatus; s++) {
			if ((v = get(&m->status[s])) == 0)
				continue;
			fprintf(f, "certvault_http_requests_total{route=\"");
			label(f, rl);
			if (s < nstatus)
				fprintf(f, "\",status=\"%d\"} %llu\n",
				    http_status_at(s), (unsigned long long)v);
			else
				fprintf(f, "\",status=\"other\"} %llu\n",
				    (unsigned long long)v);
		}
	}
	head(f, "certvault_http_request_duration_seconds", "histogram",
	    "Time from the request reaching certvault-fcgi to its response "
	    "written, by route.");
	for (i = 0; i <= nroutes; i++) {
		m = metrics_route_at(i);
		if (get(&m->count) == 0)
			continue;
		route_label(i, rl, sizeof(rl));
		for (b = 0, cum = 0; b < NBUCKETS; b++) {
			cum += get(&m->bucket[b]);
			fprintf(f, "certvault_http_request_duration_seconds_bucket"
			    "{route=\"");
			label(f, rl);
			fprintf(f, "\",le=\"%g\"} %llu\n", buckets[b],
			    (unsigned long long)cum);
		}
		fprintf(f, "certvault_http_request_duration_seconds_bucket"
		    "{route=\"");
		label(f, rl);
		fprintf(f, "\",le=\"+Inf\"} %llu\n",
		    (unsigned long long)get(&m->count));
		fprintf(f, "certvault_http_request_duration_seconds_sum"
		    "{route=\"");
		label(f, rl);
		fprintf(f, "\"} %.6f\n", (double)get(&m->sum_us) / 1e6);
		fprintf(f, "certvault_http_request_duration_seconds_count"
		    "{route=\"");
		label(f, rl);
		fprintf(f, "\"} %llu\n", (unsigned long long)get(&m->count));
	}
}

static void
render_process(FILE *f)
{
	size_t	 k;

	head(f, "certvault_database_errors_total", "counter",
	    "Database errors met by certvault-fcgi: unavailable (no "
	    "connection), timeout (request_timeout), failed (anything else).");
	for (k = 0; k < METRICS_DB__MAX; k++)
		fprintf(f, "certvault_database_errors_total{kind=\"%s\"} %llu\n",
		    db_kinds[k], (unsigned long long)get(&shm->db_errors[k]));
	head(f, "certvault_fcgi_workers", "gauge",
	    "certvault-fcgi worker processes running under this master.");
	fprintf(f, "certvault_fcgi_workers %llu\n",
	    (unsigned long long)get(&shm->workers));
	head(f, "certvault_fcgi_worker_deaths_total", "counter",
	    "certvault-fcgi workers that died (killed or failed), each "
	    "replaced by the master.");
	fprintf(f, "certvault_fcgi_worker_deaths_total %llu\n",
	    (unsigned long long)get(&shm->worker_deaths));
	head(f, "certvault_fcgi_start_time_seconds", "gauge",
	    "When this certvault-fcgi master started (Unix time).");
	fprintf(f, "certvault_fcgi_start_time_seconds %lld\n",
	    (long long)shm->started);
}

enum worker_value { WORKER_AGE, WORKER_CLAIMS, WORKER_FAILURES };

/* One series per certvault-worker (worker="hostname:pid"). */
static void
worker_series(FILE *f, const struct store_ops *o, const char *name,
    const char *type, const char *help, enum worker_value what)
{
	const struct store_ops_worker	*w;
	size_t				 i;

	head(f, name, type, help);
	for (i = 0; i < o->workersz; i++) {
		w = &o->workers[i];
		fprintf(f, "%s{worker=\"", name);
		label(f, w->worker_id);
		if (what == WORKER_AGE)
			fprintf(f, "\"} %.3f\n", w->age);
		else
			fprintf(f, "\"} %lld\n", (long long)(what == WORKER_CLAIMS ?
			    w->claims : w->failures));
	}
}

static void
render_shared(FILE *f, const struct store_ops *o)
{
	size_t	 i;

	head(f, "certvault_database_up", "gauge",
	    "1 if the shared state below could be read from PostgreSQL.");
	fprintf(f, "certvault_database_up %d\n", o != NULL);
	if (o == NULL)
		return;
	head(f, "certvault_pending_operations", "gauge",
	    "Pending certificate operations, by status and issuer provider.");
	for (i = 0; i < o->pendingsz; i++) {
		fprintf(f, "certvault_pending_operations{status=\"");
		label(f, o->pending[i].status);
		fprintf(f, "\",provider=\"");
		label(f, o->pending[i].provider);
		fprintf(f, "\"} %lld\n", (long long)o->pending[i].count);
	}
	head(f, "certvault_pending_oldest_age_seconds", "gauge",
	    "Age of the oldest operation still inProgress, by provider.");
	for (i = 0; i < o->pendingsz; i++) {
		if (strcmp(o->pending[i].status, "inProgress") != 0)
			continue;
		fprintf(f, "certvault_pending_oldest_age_seconds{provider=\"");
		label(f, o->pending[i].provider);
		fprintf(f, "\"} %lld\n", (long long)o->pending[i].oldest);
	}
	head(f, "certvault_key_pool_keys", "gauge",
	    "Pre-generated keys ready in the key pool, by key type.");
	for (i = 0; i < o->poolsz; i++) {
		fprintf(f, "certvault_key_pool_keys{key_type=\"");
		label(f, o->pool[i].key_spec);
		fprintf(f, "\"} %lld\n", (long long)o->pool[i].keys);
	}
	worker_series(f, o, "certvault_worker_last_seen_seconds", "gauge",
	    "Seconds since each certvault-worker last finished a pass.",
	    WORKER_AGE);
	worker_series(f, o, "certvault_worker_claims_total", "counter",
	    "Rows each certvault-worker claimed and handled since it started.",
	    WORKER_CLAIMS);
	worker_series(f, o, "certvault_worker_failures_total", "counter",
	    "Job runs that failed in each certvault-worker since it started.",
	    WORKER_FAILURES);
}

/*
 * The whole exposition as a new string (*len bytes).  ops is the shared
 * state, or NULL when the database could not be read: the process's own
 * counters are still worth scraping then.
 */
char *
metrics_render(const struct store_ops *ops, size_t *len)
{
	FILE	*f;
	char	*buf = NULL;

	if ((f = open_memstream(&buf, len)) == NULL)
		fatal("out of memory");
	if (shm != NULL) {
		render_requests(f);
		render_process(f);
	}
	render_shared(f, ops);
	if (fclose(f) != 0)
		fatal("out of memory");
	return buf;
}
