#!/bin/sh
# accuracy_cli.sh OUT CIMSIM: `cimsim accuracy` on a safetensors file this
# script writes (a 2 x 3 weight, an embedding and a norm, F32): the weight
# is run through the chip, the other two are skipped and counted; a tensor
# named that is not a matrix, and a file cut short, are refused.
set -u
out=$1 cimsim=$2
h='{"w.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"model.embed_tokens.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[24,40]},"norm.weight":{"dtype":"F32","shape":[3],"data_offsets":[40,52]}}'
# write_st HEADER COUNT FILE: a safetensors file of the JSON HEADER (under
# 256 bytes: its 8-byte little-endian length is one byte and seven zeros)
# and COUNT F32 values, 1.0 (00 00 80 3f) and -0.5 (00 00 00 bf) in turn.
write_st() {
	{
		printf "\\$(printf '%03o' "${#1}")\\000\\000\\000\\000\\000\\000\\000"
		printf '%s' "$1"
		i=0
		while [ $i -lt "$2" ]; do
			if [ $((i % 2)) -eq 0 ]; then printf '\000\000\200\077'; else printf '\000\000\000\277'; fi
			i=$((i + 1))
		done
	} >"$3"
}
n=${#h}
write_st "$h" 13 "$out.safetensors"
"$cimsim" accuracy configs/chips/llm-class.yaml --weights "$out.safetensors" --vectors 2 \
	>"$out.txt" || { cat "$out.txt"; exit 1; }
cat "$out.txt"
grep -Eq '^  w\.weight +2×3 +1 ' "$out.txt" || { echo "FAIL: no row for w.weight"; exit 1; }
grep -q '2 tensors skipped: not 2-D, or embeddings' "$out.txt" || { echo "FAIL: skipped"; exit 1; }
if "$cimsim" accuracy configs/chips/llm-class.yaml --weights "$out.safetensors" \
	--tensor norm.weight 2>"$out.err"; then
	echo "FAIL: a 1-D tensor was run"; exit 1
fi
grep -q "tensor 'norm.weight' is not 2-D (a weight matrix)" "$out.err" || { cat "$out.err"; exit 1; }
head -c 60 "$out.safetensors" >"$out.cut.safetensors"
if "$cimsim" accuracy configs/chips/llm-class.yaml --weights "$out.cut.safetensors" \
	2>"$out.err"; then
	echo "FAIL: a file cut short was read"; exit 1
fi
grep -q "a header of $n bytes in a file of 60" "$out.err" || { cat "$out.err"; exit 1; }
# Activations from a file: x [2, 3] (two vectors of w's 3 inputs), and y
# [4] (one vector of 4 values, which w does not take).
ha='{"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"y":{"dtype":"F32","shape":[4],"data_offsets":[24,40]}}'
write_st "$ha" 10 "$out.acts.safetensors"
"$cimsim" accuracy configs/chips/llm-class.yaml --weights "$out.safetensors" --tensor w.weight \
	--inputs "$out.acts.safetensors" --input-tensor x >"$out.txt" || { cat "$out.txt"; exit 1; }
grep -q "2 $out.acts.safetensors input vectors" "$out.txt" || { cat "$out.txt"; echo "FAIL: file inputs"; exit 1; }
if "$cimsim" accuracy configs/chips/llm-class.yaml --weights "$out.safetensors" --tensor w.weight \
	--inputs "$out.acts.safetensors" --input-tensor y 2>"$out.err"; then
	echo "FAIL: 4 values a vector were fed to a matrix of 3 inputs"; exit 1
fi
grep -q "the activations have 4 values a vector, but w.weight takes 3 inputs" "$out.err" ||
	{ cat "$out.err"; exit 1; }
if "$cimsim" accuracy configs/chips/llm-class.yaml --weights "$out.safetensors" \
	--inputs "$out.acts.safetensors" 2>"$out.err"; then
	echo "FAIL: a file of two tensors was read without --input-tensor"; exit 1
fi
grep -q "it holds more than one tensor; give --input-tensor NAME" "$out.err" || { cat "$out.err"; exit 1; }
echo "ok"
