# json_same.sh, sourced by the tests that compare two runs' results JSON:
# json_strip drops the simulator's own figures (they measure the host, not
# the simulated system) and the lines named in $JSON_STRIP_MORE (a grep -e
# list, e.g. the rank count); json_same A B NAME passes when A and B match,
# or prints their difference under NAME.
json_strip() {
	# shellcheck disable=SC2086
	grep -v -e '"wall_s"' -e '"cpu_s"' -e '"events_per_s"' -e '"peak_rss_mib_per_rank"' \
		-e '"simulated_tokens_per_wall_s"' ${JSON_STRIP_MORE:-}
}
json_same() {
	# POSIX sh has no locals: names of their own, so a caller's stay
	_js_a=$(printf '%s\n' "$1" | json_strip)
	_js_b=$(printf '%s\n' "$2" | json_strip)
	[ -n "$_js_a" ] && [ "$_js_a" = "$_js_b" ] && return 0
	echo "$3:"
	printf '%s\n' "$_js_a" >/tmp/cimsim-a.$$
	printf '%s\n' "$_js_b" >/tmp/cimsim-b.$$
	diff /tmp/cimsim-a.$$ /tmp/cimsim-b.$$
	rm -f /tmp/cimsim-a.$$ /tmp/cimsim-b.$$
	return 1
}
