/*
 * algo.c — collective algorithms as schedules: which member sends how many
 * bytes to which member in each step, for one group of p members.
 *
 * A schedule knows nothing of topology or time; replay.c prices it over the
 * routes.  Each algorithm is a row of a small table (struct algo_ops) with a
 * writer per collective.  Vectors of n bytes split into p chunks: chunk c has
 * ⌊n/p⌋ bytes, plus one for c < n mod p.  Members are 0..p−1 within the
 * group; rooted collectives work on v = (member − root) mod p.
 */
#include <stdlib.h>

#include "net_int.h"

/* ------------------------------------------------------------ schedules */

void sched_flow(struct sched *s, uint32_t src, uint32_t dst, uint64_t bytes)
{
	if (bytes == 0 || s->oom)
		return;
	if (s->nf == s->fcap) {
		size_t cap = s->fcap ? 2 * s->fcap : 64;
		struct flow *f = realloc(s->f, cap * sizeof(*f));

		if (!f) {
			s->oom = true;
			return;
		}
		s->f = f;
		s->fcap = cap;
	}
	s->f[s->nf++] = (struct flow){ .src = src, .dst = dst, .bytes = bytes };
}

void sched_step(struct sched *s)
{
	size_t start = s->nsteps ? s->step_end[s->nsteps - 1] : 0;

	if (s->oom || s->nf == start)
		return;
	if (s->nsteps == s->scap) {
		size_t cap = s->scap ? 2 * s->scap : 16;
		size_t *e = realloc(s->step_end, cap * sizeof(*e));

		if (!e) {
			s->oom = true;
			return;
		}
		s->step_end = e;
		s->scap = cap;
	}
	s->step_end[s->nsteps++] = s->nf;
}

void sched_free(struct sched *s)
{
	free(s->f);
	free(s->step_end);
	*s = (struct sched){ 0 };
}

static uint64_t chunk(uint64_t n, uint32_t p, uint32_t c)
{
	return n / p + (c < n % p ? 1 : 0);
}

static bool pow2(uint32_t p)
{
	return p && (p & (p - 1)) == 0;
}

static uint32_t floor_log2(uint32_t p)
{
	uint32_t l = 0;

	while (p >>= 1)
		l++;
	return l;
}

/* ----------------------------------------------------------------- ring */

/* Reduce-scatter: in step s (0..p−2) member i sends chunk (i − s) mod p to
 * i + 1; after p − 1 steps member i holds chunk (i + 1) mod p reduced. */
static void ring_rs_steps(struct sched *s, uint32_t p, uint64_t n)
{
	for (uint32_t st = 0; st + 1 < p; st++) {
		for (uint32_t i = 0; i < p; i++)
			sched_flow(s, i, (i + 1) % p, chunk(n, p, (i + p - st) % p));
		sched_step(s);
	}
}

/* All-gather: member i starts with chunk (i + own) mod p (own = 1 after the
 * reduce-scatter above, 0 alone); in step s it forwards chunk
 * (i + own − s) mod p to i + 1. */
static void ring_ag_steps(struct sched *s, uint32_t p, uint64_t n, uint32_t own)
{
	for (uint32_t st = 0; st + 1 < p; st++) {
		for (uint32_t i = 0; i < p; i++)
			sched_flow(s, i, (i + 1) % p, chunk(n, p, (i + own + p - st) % p));
		sched_step(s);
	}
}

static int ring_allreduce(struct sched *s, uint32_t p, uint64_t n, uint32_t root,
			  struct cim_err *err)
{
	(void)root;
	(void)err;
	ring_rs_steps(s, p, n);
	ring_ag_steps(s, p, n, 1);
	return 0;
}

static int ring_allgather(struct sched *s, uint32_t p, uint64_t n, uint32_t root,
			  struct cim_err *err)
{
	(void)root;
	(void)err;
	ring_ag_steps(s, p, n, 0);
	return 0;
}

static int ring_reduce_scatter(struct sched *s, uint32_t p, uint64_t n, uint32_t root,
			       struct cim_err *err)
{
	(void)root;
	(void)err;
	ring_rs_steps(s, p, n);
	return 0;
}

/* Broadcast along the ring: a chain root → root+1 → … of the whole message. */
static int ring_broadcast(struct sched *s, uint32_t p, uint64_t n, uint32_t root,
			  struct cim_err *err)
{
	(void)err;
	for (uint32_t v = 0; v + 1 < p; v++) {
		sched_flow(s, (root + v) % p, (root + v + 1) % p, n);
		sched_step(s);
	}
	return 0;
}

/* ----------------------------------------------------------------- tree */

/* Binary tree in heap order of v: parent (v − 1)/2, depth ⌊log2(v + 1)⌋. */
static uint32_t depth(uint32_t v)
{
	return floor_log2(v + 1);
}

/* Reduce to the root: members of the deepest level send first. */
static void tree_reduce_steps(struct sched *s, uint32_t p, uint64_t n, uint32_t root)
{
	for (uint32_t d = depth(p - 1); d > 0; d--) {
		for (uint32_t v = 1; v < p; v++)
			if (depth(v) == d)
				sched_flow(s, (v + root) % p, ((v - 1) / 2 + root) % p, n);
		sched_step(s);
	}
}

/* Broadcast from the root: each level sends to both its children at once. */
static void tree_bcast_steps(struct sched *s, uint32_t p, uint64_t n, uint32_t root)
{
	for (uint32_t d = 1; p > 1 && d <= depth(p - 1); d++) {
		for (uint32_t v = 1; v < p; v++)
			if (depth(v) == d)
				sched_flow(s, ((v - 1) / 2 + root) % p, (v + root) % p, n);
		sched_step(s);
	}
}

static int tree_allreduce(struct sched *s, uint32_t p, uint64_t n, uint32_t root,
			  struct cim_err *err)
{
	(void)root;
	(void)err;
	tree_reduce_steps(s, p, n, 0);
	tree_bcast_steps(s, p, n, 0);
	return 0;
}

static int tree_broadcast(struct sched *s, uint32_t p, uint64_t n, uint32_t root,
			  struct cim_err *err)
{
	(void)err;
	tree_bcast_steps(s, p, n, root);
	return 0;
}

/* ------------------------------------------------ halving-doubling (hd) */

/*
 * Recursive halving (reduce-scatter) then recursive doubling (all-gather)
 * among q = 2^k members (Rabenseifner; Thakur, Rabenseifner and Gropp,
 * IJHPCA 2005).  Halving step j exchanges with the partner at distance q/2^j
 * the half of the current range the member gives up; doubling retraces the
 * steps in reverse.  act[] maps the q active members to group members.
 */
static int hd_core(struct sched *s, const uint32_t *act, uint32_t q, uint64_t n, bool halve,
		   bool dbl)
{
	uint32_t k = floor_log2(q);
	uint64_t *lo = malloc((size_t)(k + 1) * q * sizeof(*lo));
	uint64_t *hi = malloc((size_t)(k + 1) * q * sizeof(*hi));

	if (!lo || !hi) {
		free(lo);
		free(hi);
		s->oom = true;
		return -1;
	}
	/* lo/hi[j·q + i]: member i's range before halving step j (j = 0..k). */
	for (uint32_t i = 0; i < q; i++) {
		lo[i] = 0;
		hi[i] = n;
	}
	for (uint32_t j = 0; j < k; j++) {
		uint32_t dist = q >> (j + 1);

		for (uint32_t i = 0; i < q; i++) {
			uint64_t l = lo[j * q + i], h = hi[j * q + i], mid = l + (h - l) / 2;
			bool low = (i & dist) == 0;

			lo[(j + 1) * q + i] = low ? l : mid;
			hi[(j + 1) * q + i] = low ? mid : h;
			if (halve)
				sched_flow(s, act[i], act[i ^ dist], low ? h - mid : mid - l);
		}
		if (halve)
			sched_step(s);
	}
	for (uint32_t j = k; dbl && j-- > 0;) {
		uint32_t dist = q >> (j + 1);

		for (uint32_t i = 0; i < q; i++)
			sched_flow(s, act[i], act[i ^ dist],
				   hi[(j + 1) * q + i] - lo[(j + 1) * q + i]);
		sched_step(s);
	}
	free(lo);
	free(hi);
	return 0;
}

/*
 * All-reduce for any p: with q the largest power of two ≤ p and r = p − q,
 * members 2i (i < r) first send their whole vector to 2i + 1 and wait; the
 * q others run halving-doubling; then 2i + 1 sends the result back to 2i
 * (MPICH's allreduce for non-powers of two).
 */
static int hd_allreduce(struct sched *s, uint32_t p, uint64_t n, uint32_t root, struct cim_err *err)
{
	uint32_t q = 1u << floor_log2(p), r = p - q, *act;

	(void)root;
	(void)err;
	act = malloc(q * sizeof(*act));
	if (!act) {
		s->oom = true;
		return 0;
	}
	for (uint32_t i = 0; i < q; i++)
		act[i] = i < r ? 2 * i + 1 : i + r;
	for (uint32_t i = 0; i < r; i++)
		sched_flow(s, 2 * i, 2 * i + 1, n);
	sched_step(s);
	hd_core(s, act, q, n, true, true);
	for (uint32_t i = 0; i < r; i++)
		sched_flow(s, 2 * i + 1, 2 * i, n);
	sched_step(s);
	free(act);
	return 0;
}

static int hd_part(struct sched *s, uint32_t p, uint64_t n, bool halve, struct cim_err *err)
{
	uint32_t *act;

	if (!pow2(p))
		return cim_err_set(err,
				   "hd %s needs a group whose size is a power of two, "
				   "not %u",
				   halve ? "reduce-scatter" : "all-gather", p);
	act = malloc(p * sizeof(*act));
	if (!act) {
		s->oom = true;
		return 0;
	}
	for (uint32_t i = 0; i < p; i++)
		act[i] = i;
	hd_core(s, act, p, n, halve, !halve);
	free(act);
	return 0;
}

static int hd_reduce_scatter(struct sched *s, uint32_t p, uint64_t n, uint32_t root,
			     struct cim_err *err)
{
	(void)root;
	return hd_part(s, p, n, true, err);
}

static int hd_allgather(struct sched *s, uint32_t p, uint64_t n, uint32_t root, struct cim_err *err)
{
	(void)root;
	return hd_part(s, p, n, false, err);
}

/* Binomial tree, far half first (MPICH's binomial broadcast): with m the
 * largest power of two below p, then m/2 … 1, every v that is a multiple of
 * 2m sends the message to v + m. */
static int hd_broadcast(struct sched *s, uint32_t p, uint64_t n, uint32_t root, struct cim_err *err)
{
	uint32_t m = 1;

	(void)err;
	while (2 * m < p)
		m *= 2;
	for (; p > 1 && m > 0; m /= 2) {
		for (uint32_t v = 0; v + m < p; v += 2 * m)
			sched_flow(s, (v + root) % p, (v + m + root) % p, n);
		sched_step(s);
	}
	return 0;
}

/* --------------------------------------------------------------- direct */

/* Every member sends chunk j of its vector straight to member j. */
static void direct_rs_step(struct sched *s, uint32_t p, uint64_t n)
{
	for (uint32_t i = 0; i < p; i++)
		for (uint32_t j = 1; j < p; j++)
			sched_flow(s, i, (i + j) % p, chunk(n, p, (i + j) % p));
	sched_step(s);
}

/* Every member sends its own chunk straight to every other member. */
static void direct_ag_step(struct sched *s, uint32_t p, uint64_t n)
{
	for (uint32_t i = 0; i < p; i++)
		for (uint32_t j = 1; j < p; j++)
			sched_flow(s, i, (i + j) % p, chunk(n, p, i));
	sched_step(s);
}

static int direct_allreduce(struct sched *s, uint32_t p, uint64_t n, uint32_t root,
			    struct cim_err *err)
{
	(void)root;
	(void)err;
	direct_rs_step(s, p, n);
	direct_ag_step(s, p, n);
	return 0;
}

static int direct_allgather(struct sched *s, uint32_t p, uint64_t n, uint32_t root,
			    struct cim_err *err)
{
	(void)root;
	(void)err;
	direct_ag_step(s, p, n);
	return 0;
}

static int direct_reduce_scatter(struct sched *s, uint32_t p, uint64_t n, uint32_t root,
				 struct cim_err *err)
{
	(void)root;
	(void)err;
	direct_rs_step(s, p, n);
	return 0;
}

static int direct_broadcast(struct sched *s, uint32_t p, uint64_t n, uint32_t root,
			    struct cim_err *err)
{
	(void)err;
	for (uint32_t j = 1; j < p; j++)
		sched_flow(s, root, (root + j) % p, n);
	sched_step(s);
	return 0;
}

/* ----------------------------------------------------------- all-to-all */

/*
 * Member i's buffer holds p chunks, chunk j for member j (⌊n/p⌋ bytes,
 * plus one for j < n mod p, or the request's matrix of chunks); chunk i
 * stays.
 */

/* Member src's chunk for member dst: the request's matrix when it gives
 * one (uneven: expert parallelism's routed tokens), else bytes/p. */
static uint64_t a2a_chunk(const struct sched *s, uint64_t n, uint32_t p, uint32_t src, uint32_t dst)
{
	return s->chunks ? s->chunks[(size_t)src * p + dst] : chunk(n, p, dst);
}

/* Ring (a shift): in step k = 1 … p−1 member i sends chunk (i + k) mod p
 * to member (i + k) mod p, every member one flow a step. */
static int ring_alltoall(struct sched *s, uint32_t p, uint64_t n, uint32_t root,
			 struct cim_err *err)
{
	(void)root;
	(void)err;
	for (uint32_t k = 1; k < p; k++) {
		for (uint32_t i = 0; i < p; i++)
			sched_flow(s, i, (i + k) % p, a2a_chunk(s, n, p, i, (i + k) % p));
		sched_step(s);
	}
	return 0;
}

/* Direct: every chunk straight to its member in one step. */
static int direct_alltoall(struct sched *s, uint32_t p, uint64_t n, uint32_t root,
			   struct cim_err *err)
{
	(void)root;
	(void)err;
	for (uint32_t i = 0; i < p; i++)
		for (uint32_t j = 1; j < p; j++)
			sched_flow(s, i, (i + j) % p, a2a_chunk(s, n, p, i, (i + j) % p));
	sched_step(s);
	return 0;
}

/*
 * Bruck's algorithm (J. Bruck et al., IEEE TPDS 8(11), 1997): ⌈log2 p⌉
 * steps; in step b member i sends to member (i + 2^b) mod p, in one flow,
 * every chunk still on its way whose distance d (= destination − holder,
 * mod p) has bit b set.  A chunk bound from i to j = (i + d) mod p travels
 * over the bits of d; after step b it sits at i + (d mod 2^(b+1)).  Fewer,
 * larger messages than the shift: log p latencies instead of p − 1.
 */
static int hd_alltoall(struct sched *s, uint32_t p, uint64_t n, uint32_t root, struct cim_err *err)
{
	(void)root;
	(void)err;
	for (uint32_t b = 0; (1u << b) < p; b++) {
		for (uint32_t i = 0; i < p; i++) {
			uint64_t bytes = 0;
			/* chunks now at i with bit b of their remaining distance
			 * set: those that started at i − (d mod 2^b) for d with
			 * bit b set, bound for (start + d) mod p */
			for (uint32_t d = 1; d < p; d++) {
				if (!(d >> b & 1))
					continue;
				uint32_t start = (i + p - (d & ((1u << b) - 1))) % p;
				bytes += a2a_chunk(s, n, p, start, (start + d) % p);
			}
			sched_flow(s, i, (i + (1u << b)) % p, bytes);
		}
		sched_step(s);
	}
	return 0;
}

/*
 * Hierarchical (two-level, as Tutel's and DeepEP's all-to-alls on nodes of
 * GPUs): the group spans B ≥ 2 boards with g ≥ 2 members each; member
 * (a, l) is the l-th of board a's members in group order.  Step 1, within
 * each board: (a, l) sends (a, l') every chunk bound for the members of
 * local index l' on every board (its own chunk for (a, l') among them).
 * Step 2, across: (a, l') sends (b, l') every chunk board a's members bound
 * for (b, l').  Each member then crosses the boards' level once to each of
 * the B − 1 other boards, where direct sends each chunk across on its own:
 * fewer, larger flows on the slow level, at the cost of moving every chunk
 * bound elsewhere once more within its board.
 */
static int hier_alltoall(struct sched *s, uint32_t p, uint64_t n, uint32_t root,
			 struct cim_err *err)
{
	(void)root;
	if (!s->board)
		return cim_err_set(err, "hier applies to a hierarchical interconnect");
	/* bi[i]: member i's board, numbered in order of first appearance;
	 * li[i]: its place among that board's members; who[b·g + l]: member
	 * (b, l); ids[b], cnt[b]: board b's id and members */
	uint32_t *bi = malloc(5 * (size_t)p * sizeof(*bi));
	if (!bi) {
		s->oom = true;
		return -1;
	}
	uint32_t *li = bi + p, *who = li + p, *ids = who + p, *cnt = ids + p, B = 0;
	for (uint32_t i = 0; i < p; i++) {
		uint32_t b = 0;
		while (b < B && ids[b] != s->board[i])
			b++;
		if (b == B) {
			ids[B] = s->board[i];
			cnt[B++] = 0;
		}
		bi[i] = b;
		li[i] = cnt[b]++;
	}
	const uint32_t g = cnt[0];
	bool even = B >= 2 && g >= 2;
	for (uint32_t b = 0; b < B; b++)
		even = even && cnt[b] == g;
	if (!even) {
		free(bi);
		return cim_err_set(err, "hier needs the group over 2 or more boards with the same "
					"number of members, 2 or more, on each");
	}
	for (uint32_t i = 0; i < p; i++)
		who[bi[i] * g + li[i]] = i;
	/* within each board: to (a, l) every chunk for local index l */
	for (uint32_t i = 0; i < p; i++)
		for (uint32_t l = 0; l < g; l++) {
			const uint32_t to = who[bi[i] * g + l];
			uint64_t bytes = 0;
			if (to == i)
				continue;
			for (uint32_t b = 0; b < B; b++)
				bytes += a2a_chunk(s, n, p, i, who[b * g + l]);
			sched_flow(s, i, to, bytes);
		}
	sched_step(s);
	/* across: to (b, l) what board a's members bound for it */
	for (uint32_t i = 0; i < p; i++)
		for (uint32_t b = 0; b < B; b++) {
			const uint32_t to = who[b * g + li[i]];
			uint64_t bytes = 0;
			if (b == bi[i])
				continue;
			for (uint32_t m = 0; m < g; m++)
				bytes += a2a_chunk(s, n, p, who[bi[i] * g + m], to);
			sched_flow(s, i, to, bytes);
		}
	sched_step(s);
	free(bi);
	return 0;
}

const struct algo_ops cim_net_algos[CIM_NET_NALGO] = {
	[CIM_NET_ALGO_RING] = { .name = "ring",
				.coll = { [CIM_NET_ALLREDUCE] = ring_allreduce,
					  [CIM_NET_ALLGATHER] = ring_allgather,
					  [CIM_NET_REDUCE_SCATTER] = ring_reduce_scatter,
					  [CIM_NET_BROADCAST] = ring_broadcast,
					  [CIM_NET_ALLTOALL] = ring_alltoall } },
	[CIM_NET_ALGO_TREE] = { .name = "tree",
				.coll = { [CIM_NET_ALLREDUCE] = tree_allreduce,
					  [CIM_NET_BROADCAST] = tree_broadcast } },
	[CIM_NET_ALGO_HD] = { .name = "hd",
			      .coll = { [CIM_NET_ALLREDUCE] = hd_allreduce,
					[CIM_NET_ALLGATHER] = hd_allgather,
					[CIM_NET_REDUCE_SCATTER] = hd_reduce_scatter,
					[CIM_NET_BROADCAST] = hd_broadcast,
					[CIM_NET_ALLTOALL] = hd_alltoall } },
	[CIM_NET_ALGO_DIRECT] = { .name = "direct",
				  .coll = { [CIM_NET_ALLREDUCE] = direct_allreduce,
					    [CIM_NET_ALLGATHER] = direct_allgather,
					    [CIM_NET_REDUCE_SCATTER] = direct_reduce_scatter,
					    [CIM_NET_BROADCAST] = direct_broadcast,
					    [CIM_NET_ALLTOALL] = direct_alltoall } },
	[CIM_NET_ALGO_HIER] = { .name = "hier", .coll = { [CIM_NET_ALLTOALL] = hier_alltoall } },
};
