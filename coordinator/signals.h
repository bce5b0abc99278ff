/*
 * signals.h — how a run learns that the user (or the batch system, or
 * Open MPI after another rank's error) asks it to stop.
 */
#ifndef CIM_COORDINATOR_SIGNALS_H
#define CIM_COORDINATOR_SIGNALS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "spec.h"

/* Installs the handlers (once; again after restore) and clears the flag. */
int cim_coord_signals_install(struct cim_err *err);
/* Puts the previous handlers back. */
void cim_coord_signals_restore(void);
/* Nonzero once SIGINT, SIGTERM or SIGUSR1 arrived: the executor's stop flag. */
const volatile sig_atomic_t *cim_coord_stop_flag(void);
/* The signal that arrived, or 0. */
int cim_coord_signal(void);
/* The run has begun to save: from now on a second SIGINT waits too. */
void cim_coord_signals_saving(void);
/* "interrupted by signal 15 (SIGTERM)", or "aborted" when none arrived. */
void cim_coord_stop_reason(char *buf, size_t size);

#endif /* CIM_COORDINATOR_SIGNALS_H */
