#!/bin/sh
# The mixture-of-experts study of docs/studies.md: Mixtral-8x7B and
# DeepSeek-V2-Lite on the 64-chip example system (tp 8 x pp 8, batch 16 of
# 128 + 32 tokens) routed evenly, uniformly and by Zipf s = 1.5, their
# experts held by tensor or by expert parallelism (Mixtral also as two
# replicas sharing their experts, tp 8 x pp 4 x dp 2, DeepSeek as 8 of
# tp 1 x pp 8), and a dense model of
# about equal active parameters beside each (Llama-2-13B; DeepSeek-V2-Lite
# with every layer dense).  Run from the repository's root after make build;
# prints the table's rows.
set -eu
exp=configs/experiments/llama2-70b-64chips.yaml
M="--set model=configs/models/mixtral-8x7b.json"
# the value at a dotted path of cimsim's JSON
jget() { sh tools/json-get.sh "$1" "$2"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
one() {
	label=$1; shift
	sh tools/mpirun.sh -np 64 build/coordinator/cimsim run $exp "$@" --json $tmp/ms.json --quiet > $tmp/ms.out 2>&1 || { echo "$label: FAILED $(head -c 300 $tmp/ms.out)"; return; }
	ttft=$(jget $tmp/ms.json latency.ttft_s.mean); tpot=$(jget $tmp/ms.json latency.tpot_s.mean)
	tps=$(jget $tmp/ms.json throughput.generated_tokens_per_s); ept=$(jget $tmp/ms.json energy.per_generated_token_j)
	ms=$(jget $tmp/ms.json time.makespan_s); es=$(jget $tmp/ms.json estimate.makespan_s)
	imb=$(jget $tmp/ms.json experts.imbalance_mean 2>/dev/null || echo -)
	# the chips' dynamic energy (prefill and decode, without leakage) a
	# generated token: total / per-token is the tokens generated
	pre=$(jget $tmp/ms.json energy.by_phase_j.prefill); dec=$(jget $tmp/ms.json energy.by_phase_j.decode)
	tot=$(jget $tmp/ms.json energy.total_j)
	awk -v l="$label" -v a=$ttft -v b=$tpot -v c=$tps -v d=$ept -v m=$ms -v e=$es -v i="$imb" -v p=$pre -v q=$dec -v t=$tot 'BEGIN { printf "| %s | %.1f | %.3f | %.0f | %.2f | %.2f | %s | %.3f |\n", l, a*1e3, b*1e3, c, d*1e3, (p+q)/(t/d)*1e3, i == "-" ? "-" : sprintf("%.2f", i), m/e }'
}
echo "| point | TTFT ms | TPOT ms | tokens/s | mJ/token | dynamic mJ/token | imbalance | run/estimate |"
one "Mixtral, even, tensor" $M
one "Mixtral, uniform, tensor" $M --set workload.routing=uniform
one "Mixtral, Zipf 1.5, tensor" $M --set workload.routing=zipf --set workload.routing_zipf=1.5
one "Mixtral, Zipf 1.5, expert" $M --set workload.routing=zipf --set workload.routing_zipf=1.5 --set parallel.experts=expert
one "Mixtral, uniform, expert" $M --set workload.routing=uniform --set parallel.experts=expert
one "Mixtral, Zipf 1.5, tensor, capacity 1.25" $M --set workload.routing=zipf --set workload.routing_zipf=1.5 --set workload.capacity_factor=1.25
one "Mixtral, even, replicas (2 × tp 8 × pp 4)" $M --set parallel.pp=4 --set parallel.dp=2 --set parallel.experts=replicas
one "Mixtral, Zipf 1.5, replicas (2 × tp 8 × pp 4)" $M --set parallel.pp=4 --set parallel.dp=2 --set parallel.experts=replicas --set workload.routing=zipf --set workload.routing_zipf=1.5
one "Llama-2-13B (dense, 13.0 B)" --set model=configs/models/llama-2-13b.json
D="--set model=configs/models/deepseek-v2-lite.json"
one "DeepSeek-V2-Lite, even, tensor" $D
one "DeepSeek-V2-Lite, uniform, tensor" $D --set workload.routing=uniform
one "DeepSeek-V2-Lite, Zipf 1.5, tensor" $D --set workload.routing=zipf --set workload.routing_zipf=1.5
one "DeepSeek-V2-Lite, Zipf 1.5, expert" $D --set workload.routing=zipf --set workload.routing_zipf=1.5 --set parallel.experts=expert
one "DeepSeek-V2-Lite, even, tensor, prefill decompressed" $D --set workload.mla_prefill=decompressed
one "DeepSeek-V2-Lite, even, replicas (8 × tp 1 × pp 8)" $D --set parallel.tp=1 --set parallel.dp=8 --set parallel.experts=replicas
one "DeepSeek-V2-Lite, every layer dense (2.61 B)" $D --set model.first_k_dense_replace=27
