/*
 * test_calendar.c — the executor's resource calendars (exec/calendar.h)
 * against intervals worked by hand.
 *
 * Every expected number is derived in the comment beside it from the
 * intervals the test books; none is copied from the program's output.
 * Intervals are [s, e) in ps.  "Kept" intervals are those from index head
 * to n − 1 (calendar.h).
 */
#include "calendar.h"
#include "test.h"

/* Books [a, b) and asserts the add succeeded. */
static void add(struct cim_exec_cal *c, uint64_t a, uint64_t b)
{
	CIM_ASSERT_EQ_U64(cim_exec_cal_add(c, a, b), 0);
}

/* Number of kept intervals. */
static size_t kept(const struct cim_exec_cal *c)
{
	return c->n - c->head;
}

/* An empty (zero-initialised) calendar is free everywhere: the earliest
 * start ≥ t is t itself, whatever the length; nothing is booked. */
static void test_empty(void)
{
	struct cim_exec_cal c = { 0 };

	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 0, 1), 0);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 1234, 50), 1234);
	/* Two empty calendars (b held for the whole step, one slice): t. */
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit_sliced(&c, &c, 7, 3, 3, 1), 7);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 0);
	CU_ASSERT(cim_exec_cal_check(&c));
	cim_exec_cal_free(&c);
}

/* Busy [0,10) and [15,20): the gap [10,15) is 5 ps long.
 *  - from 10, len 5: [10,15) ends exactly where [15,20) starts → 10;
 *  - from 10, len 6: [10,16) would overlap [15,20), so the fit moves past
 *    it to 20 (nothing is booked after 20) → 20;
 *  - from 0, len 5: 0 is inside [0,10) → 10, then the gap fits → 10;
 *  - from 0, len 6: → 10, gap too short → 20;
 *  - from 12, len 3: [12,15) fits → 12; len 4: [12,16) does not → 20. */
static void test_exact_gap(void)
{
	struct cim_exec_cal c = { 0 };

	add(&c, 0, 10);
	add(&c, 15, 20);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 10, 5), 10);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 10, 6), 20);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 0, 5), 10);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 0, 6), 20);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 12, 3), 12);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 12, 4), 20);
	cim_exec_cal_free(&c);
}

/* Busy [100,200).
 *  - from 150 (inside), len 10: moves to the end of the interval → 200;
 *  - from 100 (its start, inside since [s,e) holds s) → 200;
 *  - from 199 (its last ps) → 200; from 200 (its end, free) → 200;
 *  - from 50, len 50: [50,100) ends where the busy one starts → 50;
 *  - from 50, len 51: [50,101) overlaps → 200. */
static void test_inside(void)
{
	struct cim_exec_cal c = { 0 };

	add(&c, 100, 200);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 150, 10), 200);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 100, 10), 200);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 199, 10), 200);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 200, 10), 200);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 50, 50), 50);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 50, 51), 200);
	cim_exec_cal_free(&c);
}

/* a busy [0,10), [20,30); b busy [10,20), [35,40).
 * Free times: a: [10,20), [30,∞); b: [0,10), [20,35), [40,∞).
 * Both free: [10,20) meets none of b's free spans; [30,∞) ∩ [20,35) =
 * [30,35); [30,∞) ∩ [40,∞) = [40,∞).  So both free = [30,35) ∪ [40,∞).
 * The alternation a fit on both (b held for the whole step: one slice of
 * the full length) walks for len 5 from 0:
 *   a from 0 → 10 (past [0,10); [10,15) clear of [20,30));
 *   b from 10 → 20 (inside [10,20); [20,25) clear of [35,40));
 *   a from 20 → 30 (inside [20,30); nothing after);
 *   b from 30 → 30 ([30,35) ends where [35,40) starts) = start: stop → 30.
 * len 5 from 31: [31,36) overlaps b's [35,40) → 40.
 * len 6 from 0: [30,36) overlaps [35,40) → 40.
 * The answer is symmetric in a and b (it is the intersection above). */
static void test_both_interleaved(void)
{
	struct cim_exec_cal a = { 0 }, b = { 0 };

	add(&a, 0, 10);
	add(&a, 20, 30);
	add(&b, 10, 20);
	add(&b, 35, 40);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit_sliced(&a, &b, 0, 5, 5, 1), 30);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit_sliced(&b, &a, 0, 5, 5, 1), 30);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit_sliced(&a, &b, 31, 5, 5, 1), 40);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit_sliced(&a, &b, 0, 6, 6, 1), 40);
	/* a alone (b = NULL): a's first free 5 ps from 0 is [10,15) → 10. */
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&a, 0, 5), 10);
	cim_exec_cal_free(&a);
	cim_exec_cal_free(&b);
}

/* Merging:
 *   [0,10) + [10,20) touch → one [0,20);
 *   + [15,25) overlaps → [0,25);
 *   + [30,40) is 5 ps clear → two: [0,25), [30,40);
 *   + [25,30) touches both → one [0,40); total 40.
 *   + [5,15) lies inside → still [0,40), total 40 (not 50). */
static void test_add_merge(void)
{
	struct cim_exec_cal c = { 0 };

	add(&c, 0, 10);
	add(&c, 10, 20);
	CU_ASSERT(cim_exec_cal_check(&c));
	CIM_ASSERT_EQ_U64(kept(&c), 1);
	CIM_ASSERT_EQ_U64(c.s[c.head], 0);
	CIM_ASSERT_EQ_U64(c.e[c.head], 20);

	add(&c, 15, 25);
	CU_ASSERT(cim_exec_cal_check(&c));
	CIM_ASSERT_EQ_U64(kept(&c), 1);
	CIM_ASSERT_EQ_U64(c.e[c.head], 25);

	add(&c, 30, 40);
	CU_ASSERT(cim_exec_cal_check(&c));
	CIM_ASSERT_EQ_U64(kept(&c), 2);
	CIM_ASSERT_EQ_U64(c.s[c.head], 0);
	CIM_ASSERT_EQ_U64(c.e[c.head], 25);
	CIM_ASSERT_EQ_U64(c.s[c.head + 1], 30);
	CIM_ASSERT_EQ_U64(c.e[c.head + 1], 40);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 35); /* 25 + 10 */

	add(&c, 25, 30);
	CU_ASSERT(cim_exec_cal_check(&c));
	CIM_ASSERT_EQ_U64(kept(&c), 1);
	CIM_ASSERT_EQ_U64(c.s[c.head], 0);
	CIM_ASSERT_EQ_U64(c.e[c.head], 40);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 40);

	add(&c, 5, 15);
	CIM_ASSERT_EQ_U64(kept(&c), 1);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 40);
	cim_exec_cal_free(&c);
}

/* Out of order: [100,110), then [0,10) before it, then [50,60) into the
 * gap between → sorted [0,10), [50,60), [100,110); total 3·10 = 30.
 * Then [5,55) overlaps [0,10) and [50,60) → [0,60), [100,110); total
 * 60 + 10 = 70.  Then [60,100) touches both ends → [0,110), total 110. */
static void test_add_out_of_order(void)
{
	struct cim_exec_cal c = { 0 };

	add(&c, 100, 110);
	add(&c, 0, 10);
	add(&c, 50, 60);
	CU_ASSERT(cim_exec_cal_check(&c));
	CIM_ASSERT_EQ_U64(kept(&c), 3);
	CIM_ASSERT_EQ_U64(c.s[c.head + 0], 0);
	CIM_ASSERT_EQ_U64(c.e[c.head + 0], 10);
	CIM_ASSERT_EQ_U64(c.s[c.head + 1], 50);
	CIM_ASSERT_EQ_U64(c.e[c.head + 1], 60);
	CIM_ASSERT_EQ_U64(c.s[c.head + 2], 100);
	CIM_ASSERT_EQ_U64(c.e[c.head + 2], 110);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 30);

	add(&c, 5, 55);
	CU_ASSERT(cim_exec_cal_check(&c));
	CIM_ASSERT_EQ_U64(kept(&c), 2);
	CIM_ASSERT_EQ_U64(c.s[c.head + 0], 0);
	CIM_ASSERT_EQ_U64(c.e[c.head + 0], 60);
	CIM_ASSERT_EQ_U64(c.s[c.head + 1], 100);
	CIM_ASSERT_EQ_U64(c.e[c.head + 1], 110);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 70);

	add(&c, 60, 100);
	CU_ASSERT(cim_exec_cal_check(&c));
	CIM_ASSERT_EQ_U64(kept(&c), 1);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 110);
	cim_exec_cal_free(&c);
}

/* Busy [0,10), [20,30), [40,50): total 30.
 * prune(30): [0,10) and [20,30) end at or before 30 → dropped (20 ps);
 * [40,50) ends after → kept.  total stays 20 + 10 = 30 (invariant 3).
 * prune(45): [40,50) ends at 50 > 45 → kept; total 30.
 * After prune(30), from 30 len 10: [30,40) ends where [40,50) starts → 30;
 * from 35 len 10 → 50.
 * prune(50): [40,50) ends at 50 → dropped; nothing kept; total 30. */
static void test_prune(void)
{
	struct cim_exec_cal c = { 0 };

	add(&c, 0, 10);
	add(&c, 20, 30);
	add(&c, 40, 50);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 30);

	cim_exec_cal_prune(&c, 30);
	CU_ASSERT(cim_exec_cal_check(&c));
	CIM_ASSERT_EQ_U64(kept(&c), 1);
	CIM_ASSERT_EQ_U64(c.s[c.head], 40);
	CIM_ASSERT_EQ_U64(c.e[c.head], 50);
	CIM_ASSERT_EQ_U64(c.dropped, 20);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 30);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 30, 10), 30);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 35, 10), 50);

	cim_exec_cal_prune(&c, 45);
	CIM_ASSERT_EQ_U64(kept(&c), 1);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 30);

	cim_exec_cal_prune(&c, 50);
	CIM_ASSERT_EQ_U64(kept(&c), 0);
	CIM_ASSERT_EQ_U64(c.dropped, 30);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 30);
	CU_ASSERT(cim_exec_cal_check(&c));
	/* A later add after everything was pruned still counts:
	 * [60,70) → total 30 + 10 = 40. */
	add(&c, 60, 70);
	CIM_ASSERT_EQ_U64(kept(&c), 1);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 40);
	cim_exec_cal_free(&c);
}

/* Growth and compaction.  Interval k is [10k, 10k + 5): disjoint, 5 ps
 * apart, 5 ps each.
 *  - k = 0..99: 100 intervals, total 100·5 = 500.  The arrays start at 64
 *    and double when full (calendar.c), so 100 needs cap 128.
 *  - prune(700): k is dropped when 10k + 5 ≤ 700, i.e. k ≤ 69: 70 dropped
 *    (350 ps), head = 70, kept k = 70..99 (30), first kept s = 700; total
 *    still 500.
 *  - k = 100..127: 28 more, n = 128 = cap, no growth needed.
 *  - k = 128: n = cap and head = 70 > 128/2 = 64, so the arrays are
 *    compacted instead of grown: head 0, n = 128 − 70 = 58, then the new
 *    one → 59 kept; cap stays 128.  total = 129·5 = 645; first kept
 *    [700,705), last [1280,1285).
 *  - [1206,1208) lies between [1200,1205) and [1210,1215) (1205 < 1206,
 *    1208 < 1210) → 60 kept, total 647.
 *  - [1205,1206) touches [1200,1205) and [1206,1208) → merged [1200,1208):
 *    59 kept, total 648. */
static void test_growth_compaction(void)
{
	struct cim_exec_cal c = { 0 };

	for (uint64_t k = 0; k < 100; k++)
		add(&c, 10 * k, 10 * k + 5);
	CU_ASSERT(cim_exec_cal_check(&c));
	CIM_ASSERT_EQ_U64(kept(&c), 100);
	CIM_ASSERT_EQ_U64(c.cap, 128);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 500);
	CIM_ASSERT_EQ_U64(c.s[c.head + 64], 640); /* the 65th: k = 64 */
	CIM_ASSERT_EQ_U64(c.e[c.n - 1], 995);

	cim_exec_cal_prune(&c, 700);
	CU_ASSERT(cim_exec_cal_check(&c));
	CIM_ASSERT_EQ_U64(c.head, 70);
	CIM_ASSERT_EQ_U64(kept(&c), 30);
	CIM_ASSERT_EQ_U64(c.dropped, 350);
	CIM_ASSERT_EQ_U64(c.s[c.head], 700);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 500);

	for (uint64_t k = 100; k < 128; k++)
		add(&c, 10 * k, 10 * k + 5);
	CIM_ASSERT_EQ_U64(c.n, 128);
	CIM_ASSERT_EQ_U64(c.cap, 128);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 640); /* 128·5 */

	add(&c, 1280, 1285); /* k = 128: compacts */
	CU_ASSERT(cim_exec_cal_check(&c));
	CIM_ASSERT_EQ_U64(c.head, 0);
	CIM_ASSERT_EQ_U64(c.cap, 128);
	CIM_ASSERT_EQ_U64(kept(&c), 59);
	CIM_ASSERT_EQ_U64(c.s[c.head], 700);
	CIM_ASSERT_EQ_U64(c.e[c.head], 705);
	CIM_ASSERT_EQ_U64(c.s[c.n - 1], 1280);
	CIM_ASSERT_EQ_U64(c.e[c.n - 1], 1285);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 645);

	add(&c, 1206, 1208);
	CU_ASSERT(cim_exec_cal_check(&c));
	CIM_ASSERT_EQ_U64(kept(&c), 60);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 647);

	add(&c, 1205, 1206);
	CU_ASSERT(cim_exec_cal_check(&c));
	CIM_ASSERT_EQ_U64(kept(&c), 59);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 648);
	/* [1200,1208) is kept interval (1200 − 700)/10 = 50 after compaction. */
	CIM_ASSERT_EQ_U64(c.s[c.head + 50], 1200);
	CIM_ASSERT_EQ_U64(c.e[c.head + 50], 1208);
	/* Fits still see the compacted arrays: from 1200, len 2: busy to 1208,
	 * [1208,1210) is free → 1208; len 3 → past [1210,1215) → 1215. */
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 1200, 2), 1208);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 1200, 3), 1215);
	cim_exec_cal_free(&c);
}

/* [a, a) is empty: booking it changes nothing, on an empty calendar, at
 * the end of a busy interval (where it would "touch"), inside one, and
 * in a gap. */
static void test_empty_interval(void)
{
	struct cim_exec_cal c = { 0 };

	add(&c, 5, 5);
	add(&c, 0, 0);
	CIM_ASSERT_EQ_U64(kept(&c), 0);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 0);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 5, 1), 5);

	add(&c, 0, 10);
	add(&c, 10, 10); /* at its end */
	add(&c, 5, 5);	 /* inside */
	add(&c, 20, 20); /* in the free space after */
	CU_ASSERT(cim_exec_cal_check(&c));
	CIM_ASSERT_EQ_U64(kept(&c), 1);
	CIM_ASSERT_EQ_U64(c.s[c.head], 0);
	CIM_ASSERT_EQ_U64(c.e[c.head], 10);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&c), 10);
	/* [10,20) is still free: from 10, len 10 → 10. */
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&c, 10, 10), 10);
	cim_exec_cal_free(&c);
}

/*
 * A step held on a for len 100 with 4 slices of 40 in all on b: slice j
 * lasts 40·(j+1)/4 − 40·j/4 = 10 and ends at 100·(j+1)/4 = 25, 50, 75, 100,
 * so the slices are [15, 25), [40, 50), [65, 75), [90, 100) after the start.
 * (1) Both free: it starts at t = 0, and b is busy 40 in four intervals.
 * (2) b busy [0, 20) (another step's slice): slice 0 of a start at 0 would
 *     be [15, 25): it must start 5 later, at 5: [20, 30) free, and the others
 *     [45, 55), [70, 80), [95, 105) are free: start 5.
 * (3) b busy [0, 60) : slice 0 at 0 would be [15, 25), pushed to 60 → s =
 *     45; then slices [60, 70), [85, 95), [110, 120), [135, 145) free: 45.
 * (4) a busy [0, 30): s = 30 from a, slices [45, 55), [70, 80) … free
 *     unless b says otherwise: 30.
 * Rounding: len 10, len2 9, 4 slices: lengths 2, 2, 2, 3 (9·(j+1)/4 −
 * 9·j/4), ideal ends 2, 5, 7, 10, offsets 0, 3, 5, 7 — slices 1, 2, 3
 * touch, never overlap: b busy 9 in all.
 */
static void test_sliced(void)
{
	struct cim_exec_cal a = { 0 }, b = { 0 };

	CIM_ASSERT_EQ_U64(cim_exec_cal_fit_sliced(&a, &b, 0, 100, 40, 4), 0);
	CU_ASSERT_EQUAL(cim_exec_cal_add_sliced(&b, 0, 100, 40, 4), 0);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&b), 40);
	CIM_ASSERT_EQ_U64(b.n, 4);
	CIM_ASSERT_EQ_U64(b.s[0], 15);
	CIM_ASSERT_EQ_U64(b.e[0], 25);
	CIM_ASSERT_EQ_U64(b.s[3], 90);
	CIM_ASSERT_EQ_U64(b.e[3], 100);
	/* the lanes are free between slices: a 15-long op fits at 25 */
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit(&b, 25, 15), 25);
	cim_exec_cal_free(&b);

	CU_ASSERT_EQUAL(cim_exec_cal_add(&b, 0, 20), 0);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit_sliced(&a, &b, 0, 100, 40, 4), 5); /* (2) */
	cim_exec_cal_free(&b);
	CU_ASSERT_EQUAL(cim_exec_cal_add(&b, 0, 60), 0);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit_sliced(&a, &b, 0, 100, 40, 4), 45); /* (3) */
	cim_exec_cal_free(&b);
	CU_ASSERT_EQUAL(cim_exec_cal_add(&a, 0, 30), 0);
	CIM_ASSERT_EQ_U64(cim_exec_cal_fit_sliced(&a, &b, 0, 100, 40, 4), 30); /* (4) */
	cim_exec_cal_free(&a);

	CU_ASSERT_EQUAL(cim_exec_cal_add_sliced(&b, 0, 10, 9, 4), 0);
	CIM_ASSERT_EQ_U64(cim_exec_cal_total(&b), 9);
	CU_ASSERT(cim_exec_cal_check(&b));
	/* [0, 2), then [3, 5), [5, 7), [7, 10) touch and merge into [3, 10) */
	CIM_ASSERT_EQ_U64(b.n, 2);
	CIM_ASSERT_EQ_U64(b.s[1], 3);
	CIM_ASSERT_EQ_U64(b.e[1], 10);
	cim_exec_cal_free(&b);
}

static const struct cim_test tests[] = {
	{ "empty calendar fits at t", test_empty },
	{ "exact gap fits, one ps more does not", test_exact_gap },
	{ "fit from inside a busy interval", test_inside },
	{ "both free: interleaved gaps", test_both_interleaved },
	{ "add merges touching and overlapping", test_add_merge },
	{ "add out of order", test_add_out_of_order },
	{ "prune keeps total", test_prune },
	{ "growth past 64 and compaction", test_growth_compaction },
	{ "empty interval adds nothing", test_empty_interval },
	{ "a step with a second resource in slices", test_sliced },
};

CIM_TEST_MAIN("calendar", tests)
