/*
 * pack.c — a plan as msgpack bytes and back, for sending it between ranks
 * or keeping it in a file.
 *
 * Layout: an array [version, plan fields…, stage layers, stage firsts,
 * ranks], each rank an array of its fields and of its shards, each shard an
 * array of its fields.  Fields are listed once below (X-macros) so packing
 * and unpacking cannot drift apart.  Numbers keep their exact values:
 * integers as msgpack integers, fractions as float64.
 */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "part_int.h"

#define PACK_VERSION 3

#define PLAN_FIELDS(U, F)                                                                          \
	U(tp)                                                                                      \
	U(pp)                                                                                      \
	U(dp)                                                                                      \
	U(chips)                                                                                   \
	U(balance)                                                                                 \
	U(micro_batches)                                                                           \
	U(seqs[0])                                                                                 \
	U(seqs[1])                                                                                 \
	U(context)                                                                                 \
	U(chip_crossbars)                                                                          \
	U(crossbars)                                                                               \
	U(cells_used)                                                                              \
	F(fill)                                                                                    \
	F(headroom)                                                                                \
	U(weights)

#define RANK_FIELDS(U, F)                                                                          \
	U(rank)                                                                                    \
	U(replica)                                                                                 \
	U(stage)                                                                                   \
	U(tp_index)                                                                                \
	U(group_first)                                                                             \
	U(prev_rank)                                                                               \
	U(next_rank)                                                                               \
	U(token_peer)                                                                              \
	U(first_layer)                                                                             \
	U(nlayers)                                                                                 \
	U(embed)                                                                                   \
	U(embed_dram)                                                                              \
	U(head)                                                                                    \
	U(heads)                                                                                   \
	U(kv_heads)                                                                                \
	U(shared_cores)                                                                            \
	U(crossbars)                                                                               \
	U(cells_used)                                                                              \
	F(fill)                                                                                    \
	U(weight_bytes)                                                                            \
	U(memory_params)                                                                           \
	U(memory_bytes)                                                                            \
	U(kv_bytes)                                                                                \
	U(act_bytes)                                                                               \
	U(kv_where)                                                                                \
	U(buffer_bytes)                                                                            \
	U(dram_bytes)                                                                              \
	U(engine_bytes)

#define SHARD_FIELDS(U, F)                                                                         \
	U(role)                                                                                    \
	U(split)                                                                                   \
	U(k)                                                                                       \
	U(n)                                                                                       \
	U(count)                                                                                   \
	U(holders)                                                                                 \
	U(layers)                                                                                  \
	U(times)                                                                                   \
	U(crossbars_one)                                                                           \
	U(crossbars)                                                                               \
	U(cells_used)                                                                              \
	U(weights)                                                                                 \
	U(bias)                                                                                    \
	U(has_bias)

#define COUNT(x) +1
#define NPLAN	 (0 PLAN_FIELDS(COUNT, COUNT))
#define NRANK	 (0 RANK_FIELDS(COUNT, COUNT))
#define NSHARD	 (0 SHARD_FIELDS(COUNT, COUNT))

int cim_part_pack(const struct cim_part_plan *plan, char **buf_p, size_t *len_p,
		  struct cim_err *err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc = 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	/* OBJ names the struct the field lists are read from. */
#define PU(x) rc |= msgpack_pack_uint64(&pk, (uint64_t)(OBJ->x));
#define PF(x) rc |= msgpack_pack_double(&pk, OBJ->x);
	rc |= msgpack_pack_array(&pk, 1 + NPLAN + 3);
	rc |= msgpack_pack_uint32(&pk, PACK_VERSION);
#define OBJ plan
	PLAN_FIELDS(PU, PF)
#undef OBJ
	for (int which = 0; which < 2; which++) {
		const uint32_t *v = which ? plan->stage_first : plan->stage_layers;
		rc |= msgpack_pack_array(&pk, plan->pp);
		for (uint32_t s = 0; s < plan->pp; s++)
			rc |= msgpack_pack_uint32(&pk, v[s]);
	}
	rc |= msgpack_pack_array(&pk, plan->chips);
	for (uint32_t i = 0; i < plan->chips; i++) {
		const struct cim_part_rank *r = &plan->ranks[i];
		rc |= msgpack_pack_array(&pk, NRANK + 1);
#define OBJ r
		RANK_FIELDS(PU, PF)
#undef OBJ
		rc |= msgpack_pack_array(&pk, r->nshards);
		for (uint32_t j = 0; j < r->nshards; j++) {
			const struct cim_part_shard *sh = &r->shards[j];
			rc |= msgpack_pack_array(&pk, NSHARD);
#define OBJ sh
			SHARD_FIELDS(PU, PF)
#undef OBJ
		}
	}
#undef PU
#undef PF
	if (rc) {
		msgpack_sbuffer_destroy(&sb);
		return cim_err_set(err, "packing the plan: out of memory");
	}
	*buf_p = sb.data;
	*len_p = sb.size;
	return 0;
}

/* Reading: a cursor over an array object that refuses anything unexpected. */
struct cur {
	const msgpack_object *v;
	uint32_t n, i;
	bool bad;
};

static struct cur array_at(const msgpack_object *o, uint32_t want)
{
	struct cur c = { 0 };

	if (o->type != MSGPACK_OBJECT_ARRAY || (want && o->via.array.size != want)) {
		c.bad = true;
		return c;
	}
	c.v = o->via.array.ptr;
	c.n = o->via.array.size;
	return c;
}

static const msgpack_object *next(struct cur *c)
{
	static const msgpack_object nil = { .type = MSGPACK_OBJECT_NIL };

	if (c->i >= c->n) {
		c->bad = true;
		return &nil;
	}
	return &c->v[c->i++];
}

static uint64_t next_u(struct cur *c)
{
	const msgpack_object *o = next(c);

	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		c->bad = true;
		return 0;
	}
	return o->via.u64;
}

static double next_f(struct cur *c)
{
	const msgpack_object *o = next(c);

	if (o->type != MSGPACK_OBJECT_FLOAT64 && o->type != MSGPACK_OBJECT_FLOAT32) {
		c->bad = true;
		return 0;
	}
	return o->via.f64;
}

static bool read_plan(const msgpack_object *root, struct cim_part_plan *plan)
{
	struct cur c = array_at(root, 1 + NPLAN + 3);

	if (c.bad || next_u(&c) != PACK_VERSION)
		return false;
		/* OBJ is the struct being filled, CUR the cursor read from. */
#define GU(x) OBJ->x = (__typeof__(OBJ->x))next_u(CUR);
#define GF(x) OBJ->x = next_f(CUR);
#define OBJ   plan
#define CUR   (&c)
	PLAN_FIELDS(GU, GF)
#undef OBJ
#undef CUR
	if (c.bad || plan->pp == 0 || plan->pp > CIM_MAX_STAGES || plan->tp == 0 || plan->dp == 0 ||
	    plan->chips != plan->tp * plan->pp * plan->dp || plan->chips > CIM_NET_MAX_POSITIONS)
		return false;
	for (int which = 0; which < 2; which++) {
		struct cur a = array_at(next(&c), plan->pp);
		uint32_t *v = which ? plan->stage_first : plan->stage_layers;
		for (uint32_t s = 0; s < plan->pp; s++)
			v[s] = (uint32_t)next_u(&a);
		if (a.bad)
			return false;
	}
	plan->ranks = calloc(plan->chips, sizeof(*plan->ranks));
	struct cur rs = array_at(next(&c), plan->chips);
	if (!plan->ranks || rs.bad)
		return false;
	for (uint32_t i = 0; i < plan->chips; i++) {
		struct cur rc = array_at(next(&rs), NRANK + 1);
		struct cim_part_rank *r = &plan->ranks[i];
#define OBJ r
#define CUR (&rc)
		RANK_FIELDS(GU, GF)
#undef OBJ
#undef CUR
		struct cur ss = array_at(next(&rc), 0);
		if (rc.bad || ss.bad || ss.n > CIM_PART_MAX_SHARDS)
			return false;
		r->nshards = ss.n;
		for (uint32_t j = 0; j < ss.n; j++) {
			struct cur sc = array_at(next(&ss), NSHARD);
			struct cim_part_shard *sh = &r->shards[j];
#define OBJ sh
#define CUR (&sc)
			SHARD_FIELDS(GU, GF)
#undef OBJ
#undef CUR
			if (sc.bad || sh->role >= CIM_ROLE_NROLES)
				return false;
		}
	}
#undef GU
#undef GF
	return !c.bad && !rs.bad;
}

int cim_part_unpack(const char *buf, size_t len, struct cim_part_plan **plan_p, struct cim_err *err)
{
	msgpack_unpacked u;
	size_t off = 0;
	struct cim_part_plan *plan = calloc(1, sizeof(*plan));

	if (!plan)
		return cim_err_set(err, "unpacking a plan: out of memory");
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len ||
	    !read_plan(&u.data, plan)) {
		msgpack_unpacked_destroy(&u);
		cim_part_plan_destroy(plan);
		return cim_err_set(err,
				   "unpacking a plan: %zu bytes are not a packed plan of "
				   "version %d",
				   len, PACK_VERSION);
	}
	msgpack_unpacked_destroy(&u);
	*plan_p = plan;
	return 0;
}
