/*
 * test_signals.c — how a run learns it must stop (coordinator/signals.c):
 * the first SIGINT or SIGTERM only sets the flag the executor reads; a
 * second SIGINT ends the process unless the save has begun; a second
 * SIGTERM (Open MPI's, after another rank's MPI_Abort) never does.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "signals.h"
#include "test.h"

static void test_flag_and_reason(void)
{
	struct cim_err err;
	char reason[64];

	CU_ASSERT_FATAL(cim_coord_signals_install(&err) == 0);
	CIM_ASSERT_EQ_U64(*cim_coord_stop_flag(), 0);
	cim_coord_stop_reason(reason, sizeof(reason));
	CIM_ASSERT_HAS(reason, "aborted");
	raise(SIGINT);	/* only sets the flag */
	raise(SIGTERM); /* a second SIGTERM is ignored */
	CIM_ASSERT_EQ_U64(*cim_coord_stop_flag(), SIGINT);
	cim_coord_signals_saving();
	raise(SIGINT); /* the save has begun: even a second SIGINT waits */
	CIM_ASSERT_EQ_U64(cim_coord_signal(), SIGINT);
	cim_coord_stop_reason(reason, sizeof(reason));
	CIM_ASSERT_HAS(reason, "interrupted by signal 2 (SIGINT)");
	cim_coord_signals_restore();
	/* Installing again starts afresh. */
	CU_ASSERT_FATAL(cim_coord_signals_install(&err) == 0);
	CIM_ASSERT_EQ_U64(cim_coord_signal(), 0);
	cim_coord_signals_restore();
}

/* Before the run saves, a second SIGINT ends the process at once (the user
 * insists); a second SIGTERM does not. */
static void test_second_signal(void)
{
	for (int i = 0; i < 2; i++) {
		int second = i == 0 ? SIGINT : SIGTERM, status = 0;
		fflush(NULL);
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			struct cim_err err;
			if (cim_coord_signals_install(&err) != 0)
				_exit(3);
			raise(SIGTERM);
			raise(second);
			_exit(cim_coord_signal() == SIGTERM ? 0 : 4);
		}
		CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
		if (second == SIGINT) {
			CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
		} else {
			CU_ASSERT(WIFEXITED(status));
			CIM_ASSERT_EQ_U64(WEXITSTATUS(status), 0);
		}
	}
}

static const struct cim_test tests[] = {
	{ "SIGINT sets the flag, the reason names it", test_flag_and_reason },
	{ "a second SIGINT ends the process, a second SIGTERM does not", test_second_signal },
};

CIM_TEST_MAIN("signals", tests)
