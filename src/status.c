/*
 * certvault — GET /status, the operators' page: what waits, who works on
 * it, what is ready.  Plain HTML with a little inline CSS and no
 * JavaScript, written with stdio into memory as /metrics is (metrics.c);
 * no template engine.  SPDX-License-Identifier: ISC
 *
 * Vault names, error texts and status_details come from clients and from
 * CAs: every value from the database goes out through status_html(), the
 * one escaping helper.  The page also forbids scripts outright with a
 * Content-Security-Policy, so that a mistake here could not run one.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certvault.h"
#include "log.h"
#include "status.h"
#include "store.h"

/* Bytes of an error text or status_details shown; the rest is cut. */
#define STATUS_TEXT_MAX	400

static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
	"margin:1.2em 2em;color:#1f2328;background:#f6f8fa}"
	"h1{font-size:1.45em;margin:0}"
	"h2{font-size:1.1em;margin:1.5em 0 .5em;padding-bottom:.2em;"
	"border-bottom:1px solid #d0d7de}"
	".meta,.note{color:#59636e;margin:.2em 0}"
	"table{border-collapse:collapse;background:#fff;"
	"border:1px solid #d0d7de}"
	"th,td{padding:.3em .75em;text-align:left;vertical-align:top;"
	"border-bottom:1px solid #e8ebef}"
	"th{background:#eef1f4;font-weight:600;white-space:nowrap}"
	"table.kv th{background:#f6f8fa;font-weight:500}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums}"
	"td.t{white-space:nowrap}"
	"td.err{color:#9a1b1b;max-width:34em;white-space:pre-wrap;"
	"overflow-wrap:anywhere}"
	"td.txt{max-width:26em;overflow-wrap:break-word}"
	"tr.stale td{background:#fff1e0}"
	".b{display:inline-block;padding:0 .55em;border-radius:1em;"
	"font-size:.85em;font-weight:600;white-space:nowrap}"
	".s-inProgress{background:#ddf4ff;color:#0550ae}"
	".s-failed{background:#ffebe9;color:#a40e26}"
	".s-completed{background:#dafbe1;color:#116329}"
	".s-cancelled,.s-other{background:#eaeef2;color:#59636e}"
	".s-stale{background:#ffd8b5;color:#8a3c00}"
	".s-ok{background:#dafbe1;color:#116329}"
	".s-down{background:#ffebe9;color:#a40e26}"
	".banner{padding:.7em 1em;margin:1em 0;border-radius:6px;"
	"font-weight:600}"
	".bad{background:#ffebe9;border:1px solid #ff8182;color:#82071e}"
	".warn{background:#fff8c5;border:1px solid #d4a72c;color:#6e4600}"
	".none{color:#59636e;font-style:italic}";

/* A worker is stale after three intervals, and never before a minute. */
unsigned
status_stale_after(unsigned interval)
{

	return interval > 20 ? 3 * interval : 60;
}

/*
 * Write s as HTML text or attribute value: the five characters HTML gives
 * meaning to become references, and C0 controls other than tab and
 * newline (not allowed in HTML) become U+FFFD.  Past max bytes (0: no
 * limit) the text is cut at a character boundary and an ellipsis added.
 */
void
status_html(FILE *f, const char *s, size_t max)
{
	size_t	 i;

	if (s == NULL)
		return;
	for (i = 0; s[i] != '\0'; i++) {
		/* Cut only before the first byte of a UTF-8 sequence. */
		if (max > 0 && i >= max && ((unsigned char)s[i] & 0xc0) != 0x80) {
			fputs("\u2026", f);
			return;
		}
		switch (s[i]) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			if (((unsigned char)s[i] < 0x20 && s[i] != '\t' &&
			    s[i] != '\n') || s[i] == 0x7f)
				fputs("\ufffd", f);
			else
				fputc(s[i], f);
		}
	}
}

/* A duration in seconds, the two largest units: "4 min 05 s". */
static void
age(FILE *f, int64_t s)
{
	long long	 v = s < 0 ? 0 : (long long)s;

	if (v < 60)
		fprintf(f, "%lld s", v);
	else if (v < 3600)
		fprintf(f, "%lld min %02lld s", v / 60, v % 60);
	else if (v < 86400)
		fprintf(f, "%lld h %02lld min", v / 3600, v % 3600 / 60);
	else
		fprintf(f, "%lld d %02lld h", v / 86400, v % 86400 / 3600);
}

/* Unix seconds as UTC, "2025-01-31 12:00:00Z". */
static void
utc(FILE *f, int64_t t)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;
	char		 buf[32];

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		fprintf(f, "%lld", (long long)t);
	else
		fputs(buf, f);
}

/* A cell of text from the database; a dash when there is none. */
static void
td_text(FILE *f, const char *class, const char *s)
{

	fprintf(f, "<td class=\"%s\">", class);
	if (s == NULL || *s == '\0')
		fputs("<span class=\"none\">\u2014</span>", f);
	else
		status_html(f, s, STATUS_TEXT_MAX);
	fputs("</td>", f);
}

static void
td_num(FILE *f, int64_t n)
{

	fprintf(f, "<td class=\"n\">%lld</td>", (long long)n);
}

/*
 * An operation's status as a badge.  The class comes from a fixed list,
 * never from the value itself.
 */
static void
badge(FILE *f, const char *status)
{
	static const char *const known[] = {
		"inProgress", "completed", "failed", "cancelled",
	};
	const char	*class = "other";
	size_t		 i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (status != NULL && strcmp(status, known[i]) == 0)
			class = known[i];
	fprintf(f, "<span class=\"b s-%s\">", class);
	status_html(f, status, 0);
	fputs("</span>", f);
}

static void
th_row(FILE *f, const char *const *cols)
{

	fputs("<thead><tr>", f);
	for (; *cols != NULL; cols++)
		fprintf(f, "<th>%s</th>", *cols);
	fputs("</tr></thead>\n<tbody>\n", f);
}

static void
empty_row(FILE *f, int cols, const char *what)
{

	fprintf(f, "<tr class=\"empty\"><td colspan=\"%d\" class=\"none\">"
	    "%s</td></tr>\n", cols, what);
}

static const char *
db_problem(enum cv_err er)
{

	switch (er) {
	case CV_ERR_UNAVAILABLE:
		return "certvault-fcgi cannot connect to PostgreSQL. Requests "
		    "that need the database answer 503 until it is back.";
	case CV_ERR_TIMEOUT:
		return "PostgreSQL did not answer within request_timeout.";
	default:
		return "the status could not be read from PostgreSQL (see the "
		    "certvault-fcgi log).";
	}
}

static void
render_node(FILE *f, const struct status_node *n)
{

	fputs("<section id=\"node\"><h2>This node</h2>\n"
	    "<table class=\"kv\" id=\"node-table\"><tbody>\n", f);
	fputs("<tr><th>Host name</th><td id=\"node-host\">", f);
	status_html(f, n->hostname, 0);
	fputs("</td></tr>\n<tr><th>certvault version</th>"
	    "<td id=\"node-version\">", f);
	status_html(f, n->version, 0);
	fprintf(f, "</td></tr>\n<tr><th>Answered by</th><td>certvault-fcgi "
	    "pid %d</td></tr>\n", n->pid);
	fputs("<tr><th>certvault-fcgi workers</th><td id=\"node-fcgi\">", f);
	if (n->fcgi_known && n->fcgi_workers > 0) {
		fprintf(f, "%u running; %llu died and were replaced since the "
		    "master started ", n->fcgi_workers,
		    (unsigned long long)n->fcgi_deaths);
		utc(f, n->fcgi_started);
	} else
		fputs("not counted: the web server starts certvault-fcgi "
		    "(no certvault-fcgi master)", f);
	fputs("</td></tr>\n<tr><th>Database</th><td id=\"node-db\">", f);
	if (n->db == CV_OK)
		fputs("<span class=\"b s-ok\">reachable</span>", f);
	else
		fputs("<span class=\"b s-down\">unreachable</span>", f);
	fprintf(f, "</td></tr>\n<tr><th>Workers are stale after</th>"
	    "<td>%u s without a pass</td></tr>\n", n->stale_after);
	fputs("<tr><th>Generated</th><td>", f);
	utc(f, n->now);
	fputs("</td></tr>\n</tbody></table></section>\n", f);
}

static void
render_pending(FILE *f, const struct store_status *s)
{
	static const char *const cols[] = {
		"Vault", "Status", "Operations", "Oldest", "Last error", NULL,
	};
	static const char *const statuses[] = {
		"inProgress", "failed", "cancelled", "completed",
	};
	const struct store_status_group	*g;
	int64_t				 total;
	size_t				 i, k;

	fputs("<section id=\"pending\"><h2>Pending operations by vault</h2>\n"
	    "<p class=\"note\" id=\"pending-totals\">All vaults:", f);
	for (k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++) {
		for (i = 0, total = 0; i < s->ops.pendingsz; i++)
			if (strcmp(s->ops.pending[i].status, statuses[k]) == 0)
				total += s->ops.pending[i].count;
		fprintf(f, "%s %s <b>%lld</b>", k == 0 ? "" : " \u00b7",
		    statuses[k], (long long)total);
	}
	fputs("</p>\n<table id=\"pending-by-vault\">", f);
	th_row(f, cols);
	for (i = 0; i < s->groupsz; i++) {
		g = &s->groups[i];
		fprintf(f, "<tr class=\"%s\">", strcmp(g->status,
		    "inProgress") == 0 ? "inprogress" : "finished");
		td_text(f, "txt", g->vault);
		fputs("<td>", f);
		badge(f, g->status);
		fputs("</td>", f);
		td_num(f, g->count);
		fputs("<td class=\"t\">", f);
		age(f, g->oldest);
		fputs("</td>", f);
		td_text(f, "err", g->last_error);
		fputs("</tr>\n", f);
	}
	if (s->groupsz == 0)
		empty_row(f, 5, "No pending operations.");
	fputs("</tbody></table>\n", f);
	if (s->groups_more)
		fprintf(f, "<p class=\"note\">Only the first %d vault and "
		    "status groups are shown.</p>\n", STATUS_GROUPS_MAX);
	fputs("</section>\n", f);
}

static void
render_oldest(FILE *f, const struct store_status *s)
{
	static const char *const cols[] = {
		"Vault", "Certificate", "Issuer", "Age", "Status details",
		"Worker's last error", "Attempts", "Next attempt", NULL,
	};
	const struct store_status_op	*op;
	size_t				 i;

	fprintf(f, "<section id=\"oldest\"><h2>Oldest operations in progress"
	    "</h2>\n<p class=\"note\">Up to %d, oldest first.</p>\n"
	    "<table id=\"oldest-in-progress\">", STATUS_OLDEST_MAX);
	th_row(f, cols);
	for (i = 0; i < s->oldestsz; i++) {
		op = &s->oldest[i];
		fputs("<tr class=\"op\">", f);
		td_text(f, "txt", op->vault);
		td_text(f, "txt", op->certificate);
		fputs("<td class=\"txt\">", f);
		status_html(f, op->issuer, 0);
		if (op->provider != NULL && *op->provider != '\0') {
			fputs(" (", f);
			status_html(f, op->provider, 0);
			fputs(")", f);
		}
		fputs("</td><td class=\"t\">", f);
		age(f, op->age);
		fputs("</td>", f);
		td_text(f, "txt", op->status_details);
		td_text(f, "err", op->worker_last_error);
		td_num(f, op->attempts);
		fputs("<td class=\"t\">", f);
		if (!op->has_next)
			fputs("<span class=\"none\">none (waits for a merge or "
			    "an operator)</span>", f);
		else if (op->next_in > 0) {
			fputs("in ", f);
			age(f, op->next_in);
		} else {
			fputs("due, overdue ", f);
			age(f, -op->next_in);
		}
		if (op->cancel)
			fputs("<br><span class=\"b s-cancelled\">cancellation "
			    "requested</span>", f);
		if (op->claimed_by != NULL) {
			fputs("<br><span class=\"note\">last claimed by ", f);
			status_html(f, op->claimed_by, 0);
			fputs("</span>", f);
		}
		fputs("</td></tr>\n", f);
	}
	if (s->oldestsz == 0)
		empty_row(f, 8, "No operation is in progress.");
	fputs("</tbody></table></section>\n", f);
}

static void
render_workers(FILE *f, const struct status_node *n,
    const struct store_status *s)
{
	static const char *const cols[] = {
		"Worker", "Host", "PID", "Started", "Last pass", "Passes",
		"Claims", "Failures", "Last error", NULL,
	};
	const struct store_ops_worker	*w;
	size_t				 i;
	bool				 stale;

	fprintf(f, "<section id=\"workers\"><h2>Workers (certvault-worker)"
	    "</h2>\n<p class=\"note\">One row per running process, written "
	    "after each pass over its jobs; stale: no pass for more than %u s "
	    "(stuck, or died without removing its row).</p>\n"
	    "<table id=\"worker-heartbeats\">", n->stale_after);
	th_row(f, cols);
	for (i = 0; i < s->ops.workersz; i++) {
		w = &s->ops.workers[i];
		stale = w->age > n->stale_after;
		fprintf(f, "<tr class=\"%s\">", stale ? "stale" : "fresh");
		td_text(f, "txt", w->worker_id);
		td_text(f, "txt", w->hostname);
		td_num(f, w->pid);
		fputs("<td class=\"t\">", f);
		utc(f, w->started);
		fputs("<br><span class=\"note\">", f);
		age(f, n->now - w->started);
		fputs(" ago</span></td><td class=\"t\">", f);
		age(f, (int64_t)w->age);
		fputs(" ago", f);
		if (stale)
			fputs(" <span class=\"b s-stale\">STALE</span>", f);
		fputs("</td>", f);
		td_num(f, w->passes);
		td_num(f, w->claims);
		td_num(f, w->failures);
		td_text(f, "err", w->last_error);
		fputs("</tr>\n", f);
	}
	if (s->ops.workersz == 0)
		empty_row(f, 9, "No certvault-worker has reported.");
	fputs("</tbody></table></section>\n", f);
}

static void
render_pool(FILE *f, const struct store_status *s)
{
	static const char *const cols[] = { "Key type", "Keys ready", NULL };
	size_t	 i;

	fputs("<section id=\"pool\"><h2>Key pool</h2>\n<p class=\"note\">"
	    "Pre-generated keys by type; a type not listed has none, and its "
	    "creates generate their keys in the request.</p>\n"
	    "<table id=\"key-pool\">", f);
	th_row(f, cols);
	for (i = 0; i < s->ops.poolsz; i++) {
		fputs("<tr class=\"pool\">", f);
		td_text(f, "txt", s->ops.pool[i].key_spec);
		td_num(f, s->ops.pool[i].keys);
		fputs("</tr>\n", f);
	}
	if (s->ops.poolsz == 0)
		empty_row(f, 2, "The pool is empty.");
	fputs("</tbody></table></section>\n", f);
}

/* Warnings at the top: what needs an operator now. */
static void
render_banners(FILE *f, const struct status_node *n,
    const struct store_status *s)
{
	size_t	 i, stale = 0;

	if (n->db != CV_OK) {
		fputs("<div class=\"banner bad\" id=\"db-banner\" "
		    "role=\"alert\">Database unreachable: ", f);
		status_html(f, db_problem(n->db), 0);
		fputs("</div>\n", f);
		return;
	}
	if (s == NULL)
		return;
	for (i = 0; i < s->ops.workersz; i++)
		if (s->ops.workers[i].age > n->stale_after)
			stale++;
	if (s->ops.workersz == 0)
		fputs("<div class=\"banner warn\" id=\"worker-banner\">"
		    "No certvault-worker has reported: operations and the key "
		    "pool are not being worked on.</div>\n", f);
	else if (stale > 0)
		fprintf(f, "<div class=\"banner warn\" id=\"worker-banner\">"
		    "%zu of %zu certvault-worker processes are stale (no pass "
		    "for more than %u s).</div>\n", stale, s->ops.workersz,
		    n->stale_after);
}

/*
 * The whole page as a new string (*len bytes).  s is the snapshot, or
 * NULL when the database could not be read (n->db says why): the page
 * then shows what this node knows of itself under a banner.
 */
char *
status_render(const struct status_node *n, const struct store_status *s,
    size_t *len)
{
	FILE	*f;
	char	*buf = NULL;

	if ((f = open_memstream(&buf, len)) == NULL)
		fatal("out of memory");
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"Content-Security-Policy\" "
	    "content=\"default-src 'none'; style-src 'unsafe-inline'; "
	    "base-uri 'none'; form-action 'none'\">\n"
	    "<meta http-equiv=\"refresh\" content=\"10\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width\">\n"
	    "<title>certvault status \u2014 ", f);
	status_html(f, n->hostname, 0);
	fprintf(f, "</title>\n<style>%s</style></head>\n<body>\n"
	    "<header><h1>certvault status</h1><p class=\"meta\">", css);
	status_html(f, n->hostname, 0);
	fputs(" \u00b7 certvault ", f);
	status_html(f, n->version, 0);
	fputs(" \u00b7 ", f);
	utc(f, n->now);
	fputs(" \u00b7 refreshes every 10 s</p></header>\n", f);
	render_banners(f, n, s);
	if (s != NULL) {
		render_pending(f, s);
		render_oldest(f, s);
		render_workers(f, n, s);
		render_pool(f, s);
	}
	render_node(f, n);
	fputs("</body></html>\n", f);
	if (fclose(f) != 0)
		fatal("out of memory");
	return buf;
}
