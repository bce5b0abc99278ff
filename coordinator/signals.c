/*
 * signals.c — SIGINT, SIGTERM and SIGUSR1 for every run, traced or not: the
 * first only sets a flag, which the executor reads between passes and while
 * it waits; the run then stops, saves its traces and ends the job.  SIGUSR1
 * is the user's Ctrl-C as tools/mpirun.sh hands it on (mpirun forwards it to
 * every rank at once, where its own SIGINT would reach them only as SIGTERM
 * after its kill timeout).
 *
 * A second SIGINT ends the process at once with the default action (the
 * user insists), unless the save has begun.  A second SIGTERM is ignored:
 * when one rank aborts, Open MPI sends SIGTERM to every rank a second
 * before SIGKILL (batch systems do alike), and that must not cut short a
 * rank still on its way to saving (docs/traces.md, "Interrupted runs").
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "signals.h"

static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t saving;
static struct sigaction old_int, old_term, old_usr1;
static bool installed;

static void on_signal(int sig)
{
	if (got_signal) {
		if (saving || sig == SIGTERM || sig == SIGUSR1)
			return;
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	got_signal = sig;
}

int cim_coord_signals_install(struct cim_err *err)
{
	struct sigaction sa;

	if (installed)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART; /* MPI's and libuv's waits go on */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, &old_int) != 0)
		return cim_err_set(err, "cannot handle SIGINT: %s", strerror(errno));
	if (sigaction(SIGTERM, &sa, &old_term) != 0) {
		int e = errno;
		sigaction(SIGINT, &old_int, NULL);
		return cim_err_set(err, "cannot handle SIGTERM: %s", strerror(e));
	}
	if (sigaction(SIGUSR1, &sa, &old_usr1) != 0) {
		int e = errno;
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		return cim_err_set(err, "cannot handle SIGUSR1: %s", strerror(e));
	}
	installed = true;
	got_signal = 0;
	saving = 0;
	return 0;
}

void cim_coord_signals_restore(void)
{
	if (!installed)
		return;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGUSR1, &old_usr1, NULL);
	installed = false;
}

const volatile sig_atomic_t *cim_coord_stop_flag(void)
{
	return &got_signal;
}

int cim_coord_signal(void)
{
	return (int)got_signal;
}

void cim_coord_signals_saving(void)
{
	saving = 1;
}

void cim_coord_stop_reason(char *buf, size_t size)
{
	int sig = cim_coord_signal();

	if (sig)
		snprintf(buf, size, "interrupted by signal %d (%s)", sig,
			 sig == SIGINT	  ? "SIGINT"
			 : sig == SIGTERM ? "SIGTERM"
			 : sig == SIGUSR1 ? "SIGUSR1, Ctrl-C through tools/mpirun.sh"
					  : "?");
	else
		snprintf(buf, size, "aborted");
}
