/*
 * certvault — lifetime actions of certificate policies: AutoRenew and
 * EmailContacts once their trigger has passed.  SPDX-License-Identifier: ISC
 *
 * certvault-worker runs lifetime_job() (every lifetime_interval seconds,
 * set up by lifetime_setup());
 * certvault-admin lifetime run calls lifetime_run() once, as of now or as
 * of a given time.
 */
#ifndef LIFETIME_H
#define LIFETIME_H

#include <stdint.h>

#include "certvault.h"
#include "kv.h"
#include "store.h"

/* How one evaluation runs. */
struct lifetime_opts {
	const struct cv_master	*master;	/* NULL: no renewals */
	const char		*sendmail;	/* run by /bin/sh -c */
	int64_t			 as_of;		/* Unix seconds; 0: now */
	const char		*vault;		/* only this one, or NULL */
	const char		*name;		/* only this one, or NULL */
	/* Each thing done, as one line; NULL: to the log. */
	void			(*say)(void *, const char *);
	void			*arg;
};

/* The arithmetic and the words, pure. */
int64_t	 lifetime_due(const struct cv_lifetime *, int64_t, int64_t);
void	 lifetime_trigger_text(const struct cv_lifetime *, char *, size_t);
const char *lifetime_action_name(enum cv_lifetime_type);
bool	 lifetime_parse_time(const char *, int64_t *);
void	 lifetime_format_time(int64_t, char [21]);
bool	 lifetime_address_ok(const char *);
char	*lifetime_message(const struct store_lifetime_cand *, const char *,
	    int64_t, int64_t, const struct cv_strlist *);

/* The work. */
enum cv_err lifetime_run(struct store *, const struct lifetime_opts *,
	    int *);
void	 lifetime_setup(const char *, const char *, unsigned, int64_t);
enum cv_err lifetime_job(struct store *, int *);

#endif /* LIFETIME_H */
