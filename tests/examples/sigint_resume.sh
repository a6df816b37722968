#!/bin/sh
# sigint_resume.sh BIN PROG DIR ARGS...: Ctrl-C (SIGINT) in a trainer makes it save its
# state at the end of the current step and exit with status 130; a run resumed from that
# checkpoint ends on the same bytes as a run never interrupted (run first, with the same
# ARGS). The signal is sent once the trainer says it compiled, so it lands in training
# (the callers train long enough, a few tenths of a second, for a loaded machine's
# polling to catch the run there).
set -u
bin=$1 prog=$2 d=$3
shift 3
rm -rf "$d" && mkdir -p "$d/a" "$d/b" || exit 1
"$bin" "$@" --out "$d/a" > "$d/a.log" 2>&1 || { cat "$d/a.log"; echo "the uninterrupted run failed"; exit 1; }
"$bin" "$@" --out "$d/b" > "$d/b.log" 2>&1 &
pid=$!
i=0
until grep -q "^compiled in" "$d/b.log"; do
    i=$((i + 1))
    if [ $i -gt 1200 ] || ! kill -0 $pid 2>/dev/null; then cat "$d/b.log"; echo "the trainer did not start"; kill $pid 2>/dev/null; exit 1; fi
    sleep 0.05
done
kill -INT $pid
wait $pid
rc=$?
cat "$d/b.log"
[ $rc -eq 130 ] || { echo "exit status $rc, want 130"; exit 1; }
# Ctrl-C at the end of an epoch's last step ends the run after that epoch's checkpoint.
f="$d/b/${prog}_interrupted.safetensors"
[ -f "$f" ] || f=$(ls "$d"/b/"${prog}"_epoch*.safetensors | sort -V | tail -n 1)
"$bin" "$@" --out "$d/b" --resume "$f" || exit 1
last=$(ls "$d"/a/"${prog}"_epoch*.safetensors | sort -V | tail -n 1)
cmp "$last" "$d/b/$(basename "$last")" && echo resumed-identically
