/*
 * calendar.h — when one resource of a chip is busy: the executor's
 * scheduling core, kept apart from MPI so it can be tested by hand.
 *
 * A calendar holds the busy intervals [s, e) of one resource (a layer's
 * crossbars, the digital unit, the KV memory port), sorted and disjoint.
 * The executor asks it for the earliest start at or after a time at which
 * the resource is free for a length (a step may take a gap an earlier step
 * left), books the interval, and forgets intervals no later step can reach.
 *
 * Invariants, checked by cim_exec_cal_check() (tests) and asserted where
 * they must hold:
 *   1. s[i] < e[i] for every kept interval;
 *   2. e[i] < s[i + 1]: sorted, disjoint and not touching (touching ones
 *      are merged);
 *   3. total = dropped + Σ kept (e − s): pruning never loses busy time.
 */
#ifndef CIM_EXEC_CALENDAR_H
#define CIM_EXEC_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Plain storage; zero-initialised is an empty calendar.  Free with
 * cim_exec_cal_free(). */
struct cim_exec_cal {
	uint64_t *s, *e; /* interval starts and ends, ps, from index head on */
	size_t head, n, cap;
	uint64_t dropped; /* Σ length of the intervals pruned away, ps */
};

void cim_exec_cal_free(struct cim_exec_cal *c);

/* The earliest start ≥ t at which c is free for len ps. */
uint64_t cim_exec_cal_fit(const struct cim_exec_cal *c, uint64_t t, uint64_t len);

/*
 * A step that holds one resource for len and another for len2 ≤ len in n
 * slices: slice j of the second lasts len2·(j+1)/n − len2·j/n and ends at
 * len·(j+1)/n after the start (its share of the first's time), or right
 * after slice j − 1 when rounding would make them overlap.
 * cim_exec_cal_fit_sliced() is the earliest start ≥ t at which a is free
 * for [s, s + len) and b for every slice; cim_exec_cal_add_sliced() books
 * the slices on b (a's interval is booked with cim_exec_cal_add()).
 */
uint64_t cim_exec_cal_fit_sliced(const struct cim_exec_cal *a, const struct cim_exec_cal *b,
				 uint64_t t, uint64_t len, uint64_t len2, uint32_t n);
int cim_exec_cal_add_sliced(struct cim_exec_cal *b, uint64_t s, uint64_t len, uint64_t len2,
			    uint32_t n);

/* Books [a, b) (a ≤ b; empty does nothing), merged with what it touches or
 * overlaps; the caller makes sure it is free when a resource may serve one
 * thing at a time.  Returns 0, or -1 when out of memory (c unchanged). */
int cim_exec_cal_add(struct cim_exec_cal *c, uint64_t a, uint64_t b);

/* Forgets the intervals that end at or before t: the caller promises no
 * later fit or add starts before t. */
void cim_exec_cal_prune(struct cim_exec_cal *c, uint64_t t);

/* Busy time booked so far, pruned intervals included, ps. */
uint64_t cim_exec_cal_total(const struct cim_exec_cal *c);

/* True when invariants 1 and 2 hold. */
bool cim_exec_cal_check(const struct cim_exec_cal *c);

#endif /* CIM_EXEC_CALENDAR_H */
