/*
 * certvault — unit tests of status.c: the escaping helper and the page
 * rendered from a made-up snapshot, with the database up and down.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "status.h"
#include "store.h"
#include "cu.h"

/* status_html(s, max) into a new string. */
static char *
esc(const char *s, size_t max)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 len;

	f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	status_html(f, s, max);
	fclose(f);
	return buf;
}

static void
test_escape(void)
{
	char	*s;

	s = esc("<script>alert('x')</script> & \"q\"", 0);
	CU_ASSERT_STRING_EQUAL(s, "&lt;script&gt;alert(&#39;x&#39;)"
	    "&lt;/script&gt; &amp; &quot;q&quot;");
	free(s);
	/* Controls other than tab and newline become U+FFFD. */
	s = esc("a\tb\nc\x1b[31md\x7f", 0);
	CU_ASSERT_STRING_EQUAL(s, "a\tb\nc\xef\xbf\xbd[31md\xef\xbf\xbd");
	free(s);
	/* Cut at a character boundary: "é" is two bytes. */
	s = esc("ab\xc3\xa9" "cd", 3);
	CU_ASSERT_STRING_EQUAL(s, "ab\xc3\xa9\xe2\x80\xa6");
	free(s);
	s = esc("abc", 3);
	CU_ASSERT_STRING_EQUAL(s, "abc");
	free(s);
	s = esc(NULL, 0);
	CU_ASSERT_STRING_EQUAL(s, "");
	free(s);
}

static void
test_stale_after(void)
{

	CU_ASSERT_EQUAL(status_stale_after(0), 60);
	CU_ASSERT_EQUAL(status_stale_after(5), 60);
	CU_ASSERT_EQUAL(status_stale_after(20), 60);
	CU_ASSERT_EQUAL(status_stale_after(30), 90);
}

static void
node_init(struct status_node *n, enum cv_err db)
{

	memset(n, 0, sizeof(*n));
	n->hostname = "node<1>";
	n->version = "9.9";
	n->pid = 42;
	n->fcgi_known = true;
	n->fcgi_workers = 2;
	n->stale_after = 60;
	n->db = db;
	n->now = 1700000000;
}

static void
test_render(void)
{
	struct status_node		 n;
	struct store_status		 s;
	struct store_status_group	 g[2];
	struct store_status_op		 op;
	struct store_ops_pending	 p;
	struct store_ops_worker		 w[2];
	struct store_ops_pool		 k;
	char				*page;
	size_t				 len;

	node_init(&n, CV_OK);
	memset(&s, 0, sizeof(s));
	memset(g, 0, sizeof(g));
	memset(&op, 0, sizeof(op));
	memset(w, 0, sizeof(w));
	p.status = "inProgress";
	p.provider = "Unknown";
	p.count = 3;
	p.oldest = 10;
	s.ops.pending = &p;
	s.ops.pendingsz = 1;
	g[0].vault = "v<script>";
	g[0].status = "inProgress";
	g[0].count = 3;
	g[0].oldest = 125;
	g[1].vault = "v2";
	g[1].status = "<b>weird</b>";
	g[1].count = 1;
	g[1].last_error = "CA said <img src=x onerror=alert(1)>";
	s.groups = g;
	s.groupsz = 2;
	op.vault = "v<script>";
	op.certificate = "c1";
	op.issuer = "Unknown";
	op.provider = "";
	op.age = 3700;
	op.status_details = "<script>alert(1)</script>";
	s.oldest = &op;
	s.oldestsz = 1;
	w[0].worker_id = "h:1";
	w[0].hostname = "h";
	w[0].pid = 1;
	w[0].age = 2;
	w[1].worker_id = "h:2";
	w[1].hostname = "h";
	w[1].pid = 2;
	w[1].age = 600;
	s.ops.workers = w;
	s.ops.workersz = 2;
	k.key_spec = "EC-P-256";
	k.keys = 7;
	s.ops.pool = &k;
	s.ops.poolsz = 1;

	page = status_render(&n, &s, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(page);
	CU_ASSERT_EQUAL(strlen(page), len);
	CU_ASSERT_PTR_NULL(strstr(page, "<script"));
	CU_ASSERT_PTR_NULL(strstr(page, "<img"));
	CU_ASSERT_PTR_NULL(strstr(page, "<b>weird"));
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "v&lt;script&gt;"));
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "&lt;img src=x"));
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "node&lt;1&gt;"));
	/* An unknown status gets the neutral class, not its own text. */
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "class=\"b s-other\">&lt;b&gt;"));
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "2 min 05 s"));
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "1 h 01 min"));
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "inProgress <b>3</b>"));
	/* One of the two workers is stale, and said to be. */
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "<tr class=\"stale\"><td "
	    "class=\"txt\">h:2</td>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "<tr class=\"fresh\"><td "
	    "class=\"txt\">h:1</td>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "1 of 2 certvault-worker"));
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "<td class=\"n\">7</td>"));
	CU_ASSERT_PTR_NULL(strstr(page, "db-banner"));
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "<meta http-equiv=\"refresh\""));
	free(page);
}

static void
test_render_db_down(void)
{
	struct status_node	 n;
	char			*page;
	size_t			 len;

	node_init(&n, CV_ERR_UNAVAILABLE);
	page = status_render(&n, NULL, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(page);
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "id=\"db-banner\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "Database unreachable"));
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "s-down\">unreachable"));
	CU_ASSERT_PTR_NOT_NULL(strstr(page, "id=\"node-table\""));
	CU_ASSERT_PTR_NULL(strstr(page, "pending-by-vault"));
	CU_ASSERT_PTR_NULL(strstr(page, "worker-heartbeats"));
	free(page);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "status_html escapes and cuts", test_escape },
		{ "stale after three intervals, at least 60 s",
		    test_stale_after },
		{ "page from a snapshot", test_render },
		{ "page with the database down", test_render_db_down },
	};

	return CU_RUN("status", tests);
}
