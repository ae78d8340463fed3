/*
 * certvault — unit tests of lifetime.c: trigger arithmetic, times, the
 * policy's lifetime actions, the notification and the sendmail runner.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certvault.h"
#include "kv.h"
#include "lifetime.h"
#include "cu.h"

#define DAY	86400

static void
test_due(void)
{
	struct cv_lifetime	 a = { CV_LIFETIME_AUTORENEW, 80, 0 };
	int64_t			 nbf = 1000000, exp = nbf + 365 * DAY;

	/* lifetime_percentage: nbf + N % of the validity. */
	CU_ASSERT_EQUAL(lifetime_due(&a, 0, 1000), 800);
	CU_ASSERT_EQUAL(lifetime_due(&a, nbf, exp), nbf + 292 * DAY);
	a.pct = 1;
	CU_ASSERT_EQUAL(lifetime_due(&a, 0, 1000), 10);
	a.pct = 99;
	CU_ASSERT_EQUAL(lifetime_due(&a, 0, 1000), 990);
	/* Rounds down: 80 % of 999 s is 799.2 s. */
	a.pct = 80;
	CU_ASSERT_EQUAL(lifetime_due(&a, 0, 999), 799);
	/* days_before_expiry: exp - N days. */
	a.type = CV_LIFETIME_EMAIL;
	a.pct = 0;
	a.days = 30;
	CU_ASSERT_EQUAL(lifetime_due(&a, nbf, exp), exp - 30 * DAY);
	a.days = 365;
	CU_ASSERT_EQUAL(lifetime_due(&a, nbf, exp), nbf);
	/* Longer than the validity: due at once, not before nbf. */
	a.days = 400;
	CU_ASSERT_EQUAL(lifetime_due(&a, nbf, exp), nbf);
	/* A validity upside down counts as none. */
	CU_ASSERT_EQUAL(lifetime_due(&a, nbf, nbf - 10), nbf);
	a.days = 0;
	a.pct = 50;
	CU_ASSERT_EQUAL(lifetime_due(&a, nbf, nbf - 10), nbf);
	/* Long validities do not overflow. */
	CU_ASSERT_EQUAL(lifetime_due(&a, 0, (int64_t)100 * 365 * DAY),
	    (int64_t)50 * 365 * DAY);
}

static void
test_words(void)
{
	struct cv_lifetime	 a = { CV_LIFETIME_AUTORENEW, 80, 0 };
	char			 buf[48];

	lifetime_trigger_text(&a, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "lifetime_percentage=80");
	a.pct = 0;
	a.days = 972;
	lifetime_trigger_text(&a, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "days_before_expiry=972");
	CU_ASSERT_STRING_EQUAL(lifetime_action_name(CV_LIFETIME_AUTORENEW),
	    "AutoRenew");
	CU_ASSERT_STRING_EQUAL(lifetime_action_name(CV_LIFETIME_EMAIL),
	    "EmailContacts");
}

static void
test_times(void)
{
	int64_t	 t;
	char	 buf[21];

	CU_ASSERT_TRUE(lifetime_parse_time("2027-06-01T00:00:00Z", &t));
	CU_ASSERT_EQUAL(t, 1811808000);
	CU_ASSERT_TRUE(lifetime_parse_time("2027-06-01T00:00:00", &t));
	CU_ASSERT_EQUAL(t, 1811808000);
	CU_ASSERT_TRUE(lifetime_parse_time("2027-06-01T00:00:00+00:00", &t));
	CU_ASSERT_EQUAL(t, 1811808000);
	CU_ASSERT_TRUE(lifetime_parse_time("2027-06-01", &t));
	CU_ASSERT_EQUAL(t, 1811808000);
	CU_ASSERT_TRUE(lifetime_parse_time("2027-06-01T12:30:05Z", &t));
	CU_ASSERT_EQUAL(t, 1811808000 + 12 * 3600 + 30 * 60 + 5);
	CU_ASSERT_TRUE(lifetime_parse_time("@1811808000", &t));
	CU_ASSERT_EQUAL(t, 1811808000);
	CU_ASSERT_FALSE(lifetime_parse_time("", &t));
	CU_ASSERT_FALSE(lifetime_parse_time("@", &t));
	CU_ASSERT_FALSE(lifetime_parse_time("@12x", &t));
	CU_ASSERT_FALSE(lifetime_parse_time("tomorrow", &t));
	CU_ASSERT_FALSE(lifetime_parse_time("2027-13-01", &t));
	CU_ASSERT_FALSE(lifetime_parse_time("2027-06-01T00:00:00+01:00", &t));
	CU_ASSERT_FALSE(lifetime_parse_time("2027-06-01 junk", &t));
	lifetime_format_time(1811808000, buf);
	CU_ASSERT_STRING_EQUAL(buf, "2027-06-01T00:00:00Z");
	CU_ASSERT_TRUE(lifetime_parse_time(buf, &t));
	CU_ASSERT_EQUAL(t, 1811808000);
}

/* The policy's lifetime_actions, defaults included, as parsed. */
static void
test_policy(void)
{
	struct cv_policy	 p;
	char			*msg;

	CU_ASSERT_EQUAL_FATAL(kv_json_policy_parse("{\"issuer\":{\"name\":"
	    "\"Self\"},\"x509_props\":{\"subject\":\"CN=a\"}}", &p, &msg),
	    CV_OK);
	CU_ASSERT_EQUAL_FATAL(p.nlifetime, 1);
	CU_ASSERT_EQUAL(p.lifetime[0].type, CV_LIFETIME_AUTORENEW);
	CU_ASSERT_EQUAL(p.lifetime[0].pct, 80);
	CU_ASSERT_EQUAL(p.lifetime[0].days, 0);
	kv_policy_free(&p);

	CU_ASSERT_EQUAL_FATAL(kv_json_policy_parse("{\"x509_props\":"
	    "{\"subject\":\"CN=a\"}}", &p, &msg), CV_OK);
	CU_ASSERT_EQUAL_FATAL(p.nlifetime, 1);
	CU_ASSERT_EQUAL(p.lifetime[0].type, CV_LIFETIME_EMAIL);
	CU_ASSERT_EQUAL(p.lifetime[0].pct, 80);
	kv_policy_free(&p);

	CU_ASSERT_EQUAL_FATAL(kv_json_policy_parse("{\"issuer\":{\"name\":"
	    "\"Self\"},\"x509_props\":{\"subject\":\"CN=a\","
	    "\"validity_months\":12},\"lifetime_actions\":["
	    "{\"trigger\":{\"days_before_expiry\":30},\"action\":"
	    "{\"action_type\":\"EmailContacts\"}},"
	    "{\"trigger\":{\"lifetime_percentage\":90},\"action\":"
	    "{\"action_type\":\"AutoRenew\"}}]}", &p, &msg), CV_OK);
	CU_ASSERT_EQUAL_FATAL(p.nlifetime, 2);
	CU_ASSERT_EQUAL(p.lifetime[0].type, CV_LIFETIME_EMAIL);
	CU_ASSERT_EQUAL(p.lifetime[0].days, 30);
	CU_ASSERT_EQUAL(p.lifetime[0].pct, 0);
	CU_ASSERT_EQUAL(p.lifetime[1].type, CV_LIFETIME_AUTORENEW);
	CU_ASSERT_EQUAL(p.lifetime[1].pct, 90);
	kv_policy_free(&p);

	CU_ASSERT_EQUAL_FATAL(kv_json_policy_parse("{\"lifetime_actions\":[],"
	    "\"x509_props\":{\"subject\":\"CN=a\"}}", &p, &msg), CV_OK);
	CU_ASSERT_EQUAL(p.nlifetime, 0);
	kv_policy_free(&p);

	/* A refused policy leaves nothing behind (valgrind checks). */
	CU_ASSERT_EQUAL(kv_json_policy_parse("{\"lifetime_actions\":["
	    "{\"trigger\":{\"lifetime_percentage\":80},\"action\":"
	    "{\"action_type\":\"AutoRenew\"}},{\"trigger\":"
	    "{\"lifetime_percentage\":100},\"action\":"
	    "{\"action_type\":\"AutoRenew\"}}]}", &p, &msg),
	    CV_ERR_BAD_PARAMETER);
	free(msg);
}

static void
test_addresses(void)
{

	CU_ASSERT_TRUE(lifetime_address_ok("ops@example.com"));
	CU_ASSERT_TRUE(lifetime_address_ok("a.b+c-d_e@sub.example.org"));
	CU_ASSERT_FALSE(lifetime_address_ok(""));
	CU_ASSERT_FALSE(lifetime_address_ok("ops"));
	CU_ASSERT_FALSE(lifetime_address_ok("@example.com"));
	CU_ASSERT_FALSE(lifetime_address_ok("ops@"));
	CU_ASSERT_FALSE(lifetime_address_ok("a@b@c"));
	CU_ASSERT_FALSE(lifetime_address_ok("a,b@example.com"));
	CU_ASSERT_FALSE(lifetime_address_ok("a@example.com\nBcc: x@y"));
	CU_ASSERT_FALSE(lifetime_address_ok("\"a b\"@example.com"));
	CU_ASSERT_FALSE(lifetime_address_ok("<a@example.com>"));
}

static bool
starts(const char *s, const char *prefix)
{

	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
test_message(void)
{
	struct store_lifetime_cand	 c;
	struct cv_strlist		 to;
	char				*v[] = { "ops@example.com",
					    "pki@example.org" };
	char				*m;

	memset(&c, 0, sizeof(c));
	c.vault = "demo";
	c.host = "demo.vault.localhost";
	c.name = "web-1";
	c.version = "0123456789abcdef0123456789abcdef";
	c.nbf = 1811808000 - 365 * DAY;
	c.exp = 1811808000;
	to.v = v;
	to.n = 2;
	m = lifetime_message(&c, "days_before_expiry=30",
	    c.exp - 30 * DAY, c.exp - 25 * DAY, &to);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_TRUE(starts(m, "To: ops@example.com, pki@example.org\n"
	    "Subject: Certificate web-1 in vault demo expires on "
	    "2027-06-01T00:00:00Z\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(m, "\n\nThe certificate web-1 in the "
	    "vault demo expires on 2027-06-01T00:00:00Z.\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(m, "  Version:     "
	    "0123456789abcdef0123456789abcdef\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(m, "  Identifier:  https://"
	    "demo.vault.localhost/certificates/web-1/"
	    "0123456789abcdef0123456789abcdef\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(m, "  Trigger:     days_before_expiry=30,"
	    " reached on 2027-05-02T00:00:00Z\n"));
	free(m);

	c.host = NULL;
	to.n = 1;
	m = lifetime_message(&c, "lifetime_percentage=80", c.nbf,
	    c.exp + DAY, &to);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_TRUE(starts(m, "To: ops@example.com\nSubject: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(m, "in vault demo expired on "));
	CU_ASSERT_PTR_NULL(strstr(m, "Identifier:"));
	free(m);
}

static char *
slurp(const char *path)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 sz = 0;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (getdelim(&buf, &sz, '\0', f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void
test_sendmail(void)
{
	char	 dir[] = "/tmp/certvault-lifetime-XXXXXX";
	char	*cmd, *out, *err, *text;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	out = cv_asprintf("%s/mail", dir);
	cmd = cv_asprintf("cat >>'%s'", out);
	CU_ASSERT_EQUAL(cv_command_run(cmd, NULL, "To: a@b\n\nhello\n", 5, &err),
	    CV_OK);
	CU_ASSERT_PTR_NULL(err);
	CU_ASSERT_EQUAL(cv_command_run(cmd, NULL, "second\n", 5, &err), CV_OK);
	text = slurp(out);
	CU_ASSERT_PTR_NOT_NULL(text);
	if (text != NULL)
		CU_ASSERT_STRING_EQUAL(text, "To: a@b\n\nhello\nsecond\n");
	free(text);
	free(cmd);

	/* Failures say why. */
	CU_ASSERT_EQUAL(cv_command_run("cat >/dev/null; exit 3", NULL, "x\n", 5,
	    &err), CV_ERR_INTERNAL);
	CU_ASSERT_PTR_NOT_NULL(err);
	if (err != NULL)
		CU_ASSERT_STRING_EQUAL(err, "the command exited with status 3");
	free(err);
	CU_ASSERT_EQUAL(cv_command_run("/nonexistent/sendmail -t", NULL, "x\n", 5,
	    &err), CV_ERR_INTERNAL);
	CU_ASSERT_PTR_NOT_NULL(err);
	free(err);
	/* One that does not read its input is judged by its status. */
	CU_ASSERT_EQUAL(cv_command_run("true", NULL, "x\n", 5, &err), CV_OK);
	/* One that hangs is killed. */
	CU_ASSERT_EQUAL(cv_command_run("sleep 30", NULL, "x\n", 1, &err),
	    CV_ERR_INTERNAL);
	CU_ASSERT_PTR_NOT_NULL(err);
	if (err != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "killed"));
	free(err);
	(void)unlink(out);
	(void)rmdir(dir);
	free(out);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "trigger arithmetic", test_due },
		{ "trigger and action names", test_words },
		{ "times as of", test_times },
		{ "lifetime actions of a policy", test_policy },
		{ "notification addresses", test_addresses },
		{ "notification message", test_message },
		{ "sendmail command", test_sendmail },
	};

	/* As certvault-worker: a command that exits early must not end us. */
	signal(SIGPIPE, SIG_IGN);
	return CU_RUN("lifetime", tests);
}
