#!/bin/sh
# md1.sh OUT MPIRUN... -- CIMSIM EXPERIMENT [ARG...]: a served load at low load on
# one chip, one request at a time (prefill-first, max_batch 1, one
# micro-batch), fixed lengths and Poisson arrivals is an M/D/1 queue: its
# mean queueing delay must be ρS / (2(1 − ρ)) (Pollaczek–Khinchine with a
# deterministic service time S; docs/serving.md) within sampling error.
#
# S is the service time of one request alone (a run of one request: its end
# to end time); ρ = λS = 0.5.  The waits of a queue are correlated, so the
# sampling error comes from 20 batch means of 100 consecutive requests each
# (2000 in all): the mean must lie within 4 standard errors of the formula.
set -u
. "$(dirname "$0")/args.sh"
out=$first
common="$* --set parallel.tp=1 --set parallel.pp=1 --set parallel.dp=1
	--set workload.micro_batches=1 --set serving.scheduler=prefill-first
	--set serving.max_batch=1 --set serving.prompt_tokens=16 --set serving.output_tokens=4
	--quiet"
# shellcheck disable=SC2086
$mpirun -np 1 "$cimsim" run "$exp" $common --set serving.arrival=batch \
	--set serving.requests=1 --requests "$out.one.csv" || exit 1
S=$(awk -F, 'NR == 2 { print $11 }' "$out.one.csv")
rate=$(awk -v s="$S" 'BEGIN { printf "%.9g", 0.5 / s }')
# shellcheck disable=SC2086
$mpirun -np 1 "$cimsim" run "$exp" $common --set serving.arrival=poisson \
	--set serving.rate_per_s="$rate" --set serving.requests=2000 \
	--requests "$out.csv" || exit 1
awk -F, -v s="$S" '
NR > 1 {
	q = $8; sum += q; n++
	b = int((n - 1) / 100); bs[b] += q
	# every request is served for S alone (end to end less its wait)
	if (($11 - q) < s * (1 - 1e-9) || ($11 - q) > s * (1 + 1e-9)) bad++
}
END {
	if (n != 2000) { print "FAIL: " n " requests, not 2000"; exit 1 }
	if (bad) { print "FAIL: " bad " requests not served in S = " s " s"; exit 1 }
	mean = sum / n; rho = 0.5
	want = rho * s / (2 * (1 - rho))
	for (i = 0; i < 20; i++) { m = bs[i] / 100; mm += m; m2 += m * m }
	mm /= 20; se = sqrt((m2 / 20 - mm * mm) * 20 / 19 / 20)
	printf "S %.6g s; mean wait %.6g s, M/D/1 %.6g s, standard error %.3g s (%.2f SE)\n",
		s, mean, want, se, (mean - want) / se
	if (mean - want > 4 * se || want - mean > 4 * se) { print "FAIL: beyond 4 standard errors"; exit 1 }
}' "$out.csv"
