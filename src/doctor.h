/*
 * certvault — certvault-admin doctor: is this deployment sound?
 * SPDX-License-Identifier: ISC
 */
#ifndef DOCTOR_H
#define DOCTOR_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stdbool.h>
#include <stddef.h>

#include "certvault.h"

/*
 * The migrations this build ships (sql/), by name, NULL-terminated:
 * src/migrations.c, which make generates from dist_sql_DATA.
 */
extern const char *const cv_migrations[];

enum doctor_status {
	DOCTOR_OK = 0,
	DOCTOR_WARN,
	DOCTOR_FAIL,
	DOCTOR__MAX
};

int	 doctor_main(const char *, int, char *[]);

/* Pure parts, for tests/unit/test_doctor.c. */
void	 doctor_migrations_compare(const char *const *,
	    const struct cv_strlist *, struct cv_strlist *,
	    struct cv_strlist *);
bool	 doctor_may(const struct stat *, uid_t, const gid_t *, size_t, int);
enum doctor_status doctor_key_file(const struct stat *, uid_t,
	    const char **);

#endif /* DOCTOR_H */
