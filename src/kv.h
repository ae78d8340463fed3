/*
 * certvault — Key Vault's wire shapes: errors and JSON bodies.
 * SPDX-License-Identifier: ISC
 *
 * kv_err.c is the one place mapping a cv_err to an HTTP status and a Key
 * Vault error code; kv_json.c builds the JSON documents.  Both use jansson
 * and nothing outside them does.
 */
#ifndef KV_H
#define KV_H

#include <stdint.h>

#include "certvault.h"

/* kv_err.c */
int	 kv_err_status(enum cv_err);
const char *kv_err_code(enum cv_err);
enum cv_err kv_err_set(struct cv_resp *, enum cv_err, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 kv_err_finish(struct cv_resp *);

/* kv_json.c */

enum cv_err kv_json_health(struct cv_resp *, bool);
enum cv_err kv_json_cert_list(struct cv_resp *, const char *,
	    const struct cv_cert_item *, size_t, const char *);

#endif /* KV_H */
