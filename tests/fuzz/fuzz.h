/*
 * certvault — what the libFuzzer targets in tests/fuzz share: quiet logs,
 * the input as a C string, and the input cut into pieces.
 * SPDX-License-Identifier: ISC
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput and includes this
 * header once.  Targets call the parsers exactly as the handlers do and
 * release everything they got: a leak is a finding too (LeakSanitizer).
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "log.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Fail loudly: an invariant of the code under test does not hold. */
#define FUZZ_ASSERT(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

/*
 * Inputs larger than this are skipped: the web server's body limit is
 * far above, but bigger inputs find nothing new and slow the search.
 */
#define FUZZ_MAX_INPUT	(64 * 1024)

/* Silence logging: refusals are expected and would flood the output. */
static inline void
fuzz_quiet(void)
{

	log_set_level(LOG_LEVEL_FATAL);
}

/* The n bytes at data as a new NUL-terminated string (caller frees). */
static inline char *
fuzz_str(const uint8_t *data, size_t n)
{
	char	*s;

	s = cv_malloc(n + 1);
	if (n > 0)
		memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/*
 * Split the n bytes at data at each sep into at most max pieces, each a
 * new string (NUL bytes inside end a piece early, as in C strings).
 * Return the number of pieces; free with fuzz_pieces_free.
 */
static inline size_t
fuzz_split(const uint8_t *data, size_t n, char sep, char **out, size_t max)
{
	const uint8_t	*q;
	size_t		 k = 0, off = 0, len;

	while (k < max) {
		q = off < n ? memchr(data + off, sep, n - off) : NULL;
		len = q == NULL ? n - off : (size_t)(q - (data + off));
		out[k++] = fuzz_str(len > 0 ? data + off : NULL, len);
		if (q == NULL)
			break;
		off += len + 1;
	}
	return k;
}

static inline void
fuzz_pieces_free(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
}

#endif /* FUZZ_H */
