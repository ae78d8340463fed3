/*
 * certvault — the pre-forked FastCGI server: listening socket, master,
 * workers.  SPDX-License-Identifier: ISC
 */
#ifndef PF_H
#define PF_H

#include "certvault.h"
#include "cfg.h"

/* pf_listen.c */
enum cv_err pf_listen_open(const char *, const struct cv_cfg *, int *);
bool	 pf_listen_inherited(void);
void	 pf_listen_cleanup(const char *);

/* pf_master.c: reload rebuilds the configuration on SIGHUP. */
typedef enum cv_err (*pf_reload_fn)(struct cv_cfg *);
int	 pf_master_run(int, struct cv_cfg *, pf_reload_fn);

/* pf_worker.c: the last argument is the master's ready pipe, or -1. */
int	 pf_worker_run(int, const struct cv_cfg *, int);

#endif /* PF_H */
