/*
 * calendar.c — the busy intervals of one resource (calendar.h).
 *
 * Intervals live in two arrays from index head on; pruning advances head,
 * and the space before it is reused when the arrays would grow.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"

void cim_exec_cal_free(struct cim_exec_cal *c)
{
	free(c->s);
	free(c->e);
	memset(c, 0, sizeof(*c));
}

/* The first interval (from head) that ends after t. */
static size_t after(const struct cim_exec_cal *c, uint64_t t)
{
	size_t lo = c->head, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->e[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint64_t cim_exec_cal_fit(const struct cim_exec_cal *c, uint64_t t, uint64_t len)
{
	for (size_t i = after(c, t); i < c->n; i++) {
		if (c->s[i] >= t + len)
			break;
		if (c->e[i] > t)
			t = c->e[i];
	}
	return t;
}

/* Slice j's offset from the start and length; *prev_end carries the end of
 * slice j − 1 (0 before the first). */
static void slice(uint64_t len, uint64_t len2, uint32_t n, uint32_t j, uint64_t *prev_end,
		  uint64_t *off, uint64_t *l)
{
	uint64_t lj = len2 * (j + 1) / n - len2 * j / n, end = len * (j + 1) / n;
	uint64_t o = end >= lj ? end - lj : 0;

	if (o < *prev_end)
		o = *prev_end;
	*off = o;
	*l = lj;
	*prev_end = o + lj;
	assert(*prev_end <= len);
}

uint64_t cim_exec_cal_fit_sliced(const struct cim_exec_cal *a, const struct cim_exec_cal *b,
				 uint64_t t, uint64_t len, uint64_t len2, uint32_t n)
{
	uint64_t s = t;

	assert(n >= 1 && len2 <= len);
	for (;;) {
		uint64_t prev = 0, moved = 0;
		s = cim_exec_cal_fit(a, s, len);
		for (uint32_t j = 0; j < n && !moved; j++) {
			uint64_t off, l;
			slice(len, len2, n, j, &prev, &off, &l);
			if (l == 0)
				continue;
			uint64_t x = s + off, y = cim_exec_cal_fit(b, x, l);
			moved = y - x; /* slice j must start later: so must the step */
		}
		if (!moved)
			return s;
		s += moved;
	}
}

int cim_exec_cal_add_sliced(struct cim_exec_cal *b, uint64_t s, uint64_t len, uint64_t len2,
			    uint32_t n)
{
	uint64_t prev = 0;

	for (uint32_t j = 0; j < n; j++) {
		uint64_t off, l;
		slice(len, len2, n, j, &prev, &off, &l);
		if (cim_exec_cal_add(b, s + off, s + off + l) < 0)
			return -1;
	}
	return 0;
}

int cim_exec_cal_add(struct cim_exec_cal *c, uint64_t a, uint64_t b)
{
	assert(a <= b);
	if (a == b)
		return 0;
	size_t i = after(c, a == 0 ? 0 : a - 1); /* first that may touch */
	size_t j = i;
	while (j < c->n && c->s[j] <= b) { /* absorb what overlaps */
		if (c->s[j] < a)
			a = c->s[j];
		if (c->e[j] > b)
			b = c->e[j];
		j++;
	}
	if (i < j) { /* replace i..j−1 by one */
		c->s[i] = a;
		c->e[i] = b;
		memmove(c->s + i + 1, c->s + j, (c->n - j) * sizeof(*c->s));
		memmove(c->e + i + 1, c->e + j, (c->n - j) * sizeof(*c->e));
		c->n -= j - i - 1;
		return 0;
	}
	if (c->n == c->cap) {
		if (c->head > c->n / 2) { /* compact before growing */
			memmove(c->s, c->s + c->head, (c->n - c->head) * sizeof(*c->s));
			memmove(c->e, c->e + c->head, (c->n - c->head) * sizeof(*c->e));
			i -= c->head;
			c->n -= c->head;
			c->head = 0;
		} else {
			size_t cap = c->cap ? 2 * c->cap : 64;
			uint64_t *s = realloc(c->s, cap * sizeof(*s));
			if (!s)
				return -1;
			c->s = s;
			uint64_t *e = realloc(c->e, cap * sizeof(*e));
			if (!e)
				return -1;
			c->e = e;
			c->cap = cap;
		}
	}
	memmove(c->s + i + 1, c->s + i, (c->n - i) * sizeof(*c->s));
	memmove(c->e + i + 1, c->e + i, (c->n - i) * sizeof(*c->e));
	c->s[i] = a;
	c->e[i] = b;
	c->n++;
	return 0;
}

void cim_exec_cal_prune(struct cim_exec_cal *c, uint64_t t)
{
	while (c->head < c->n && c->e[c->head] <= t) {
		c->dropped += c->e[c->head] - c->s[c->head];
		c->head++;
	}
}

uint64_t cim_exec_cal_total(const struct cim_exec_cal *c)
{
	uint64_t t = c->dropped;

	for (size_t i = c->head; i < c->n; i++)
		t += c->e[i] - c->s[i];
	return t;
}

bool cim_exec_cal_check(const struct cim_exec_cal *c)
{
	for (size_t i = c->head; i < c->n; i++) {
		if (c->s[i] >= c->e[i])
			return false;
		if (i + 1 < c->n && c->e[i] >= c->s[i + 1])
			return false;
	}
	return true;
}
