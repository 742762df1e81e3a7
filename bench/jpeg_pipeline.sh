#!/usr/bin/env bash
# Issue 14's JPEG input-pipeline benchmark, in one run on one photo set
# (scripts/make_photo_set.py: 500x375 q90 4:2:0 crops of Debian's photos):
#
#  1. Tessera's input pipeline: the set converted by tools/tessera_records into
#     TFRecord shards, read by ShardReader -> BatchPipeline ->
#     ImageExampleDecoder (TF distorted-box crop, flip, resize to 224x224,
#     normalize), batch 32 (bench/jpeg_pipeline.cc): 1 decode thread pinned to
#     core 0, and 2 decode threads on both cores. Beside it, the same shards
#     through the same reader and pipeline with a full decode to RGB instead of
#     the augmentation: a full decode of the same stream of files.
#  2. References (bench/jpeg_references.py): tjbench's full decode (1 core, all
#     cores) of the files and of the same images as the shards hold them
#     (tessera_records rewrites each with restart markers: the same pixels;
#     extracted by jpeg_pipeline_tessera --extract_to), the faster of the two
#     in each round, and torchvision ImageFolder + RandomResizedCrop(224) + flip +
#     ToTensor through a DataLoader in its best configurations: searched once
#     (each configuration of the search once), then the best on 1 core and the
#     best on all cores are timed in every round. The search: batch 32, 0 or 1
#     workers on 1 core, 0 or 2 workers x 1 or 2 threads on 2 cores, malloc
#     default and tuned, and jemalloc and tcmalloc preloaded (1 core: 0
#     workers; 2 cores: 0 workers x 2 threads, 2 workers x 1 thread)
#     (jpeg_references.py --quick: 18 configurations); --full_search adds
#     batch 64 and 1 worker on 2 cores (52, 5 more minutes); --quick tries
#     the 4 that won before (1 core: 0 workers, malloc default or tuned; 2
#     cores: 0 workers x 2 threads, 2 workers x 1 thread, tuned) and jemalloc
#     and tcmalloc on 1 core.
#  3. Ratios: ours / torchvision per core (target >= 3) and on all cores, ours /
#     tjbench per core (target >= 1.0), ours / the full decode of the stream.
#  4. tessera_records with 2 threads on the set as it is (JPEGs pass through
#     after a full decode) and on the same photos saved as PNG (decoded and
#     re-encoded as JPEG), each against copying the same bytes: `cp -r` (page
#     cache only) and `cat` into one file + fsync (as a shard is written).
#
# Every figure is taken once per round, rounds interleaved, and the median
# printed; a ratio is the median of the rounds' ratios (range in brackets). The
# machine is shared and its speed drifts (docs/benchmarks.md): machine_check
# runs first and last.
#
#   bazel run -c opt //bench:jpeg_pipeline -- [--quick | --full_search] [--rounds=5]
#       [--photos=DIR] [--train_files=2000] [--images=1280] [--torch_images=640]
#
# --photos: an existing make_photo_set.py tree (its train/ and validation/);
# otherwise one is made in a temporary directory. Default run about 7 minutes
# on a quiet machine, --quick about 3 (a loaded machine takes far longer). Every temporary file is removed and every process started
# is stopped on exit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -n "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then cd "$BUILD_WORKSPACE_DIRECTORY"; fi

# A built file beside this script (bazel run, bazel-bin/bench/jpeg_pipeline),
# else in bazel-bin (bash bench/jpeg_pipeline.sh after a build).
built() {
  if [ -x "$here/$1" ]; then echo "$here/$1"; else echo "bazel-bin/bench/$1"; fi
}
pipeline_bin=$(built jpeg_pipeline_tessera)
machine_check_bin=$(built machine_check)
records_bin=$(built ../tools/tessera_records)
python=/usr/bin/python3

ncores=$(nproc) quick=0 full_search=0 rounds="" photos="" train_files="" images="" torch_images=""
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --full_search) full_search=1 ;;
    --rounds=*) rounds="${arg#*=}" ;;
    --photos=*) photos="${arg#*=}" ;;
    --train_files=*) train_files="${arg#*=}" ;;
    --images=*) images="${arg#*=}" ;;
    --torch_images=*) torch_images="${arg#*=}" ;;
    *) echo "unknown argument $arg (want --quick --full_search --rounds= --photos= --train_files= --images= --torch_images=)" >&2
       exit 2 ;;
  esac
done
if [ "$quick" = 1 ]; then
  # 1,280 images as the default run: a 640-image figure (a third of a second) swings
  # by a fifth between runs (docs/benchmarks.md, 2026-12-06).
  : "${rounds:=3}" "${train_files:=1000}" "${images:=1280}" "${torch_images:=320}"
  validation_files=50 png_count=200 tjbench_files=12 check_seconds=1  # 4 files were an unsteady reference
  search=(--torch_config=cores=1,workers=0,threads=1,malloc=default,batch=32
          --torch_config=cores=1,workers=0,threads=1,malloc=tuned,batch=32
          --torch_config=cores=$ncores,workers=0,threads=2,malloc=tuned,batch=32
          --torch_config=cores=$ncores,workers=2,threads=1,malloc=tuned,batch=32
          --torch_config=cores=1,workers=0,threads=1,malloc=jemalloc,batch=32
          --torch_config=cores=1,workers=0,threads=1,malloc=tcmalloc,batch=32)
else
  : "${rounds:=5}" "${train_files:=2000}" "${images:=1280}" "${torch_images:=640}"
  validation_files=100 png_count=500 tjbench_files=12 check_seconds=2 search=(--quick)
fi
[ "$full_search" = 1 ] && search=()
for v in rounds train_files images torch_images; do
  if ! [[ "${!v}" =~ ^[1-9][0-9]*$ ]]; then
    echo "--$v must be a positive integer, got '${!v}'" >&2
    exit 2
  fi
done
for f in "$pipeline_bin" "$machine_check_bin" "$records_bin"; do
  [ -x "$f" ] || { echo "jpeg_pipeline: $f is missing: bazel build -c opt //bench:jpeg_pipeline" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/tessera_jpeg_pipeline_XXXXXX)
child=""  # the process group running now (see run)
cleanup() {
  if [ -n "$child" ]; then
    kill -TERM -- "-$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run OUT CMD...: runs CMD in a process group of its own (so that cleanup can
# stop it and whatever it started), stdout into OUT, stderr into OUT.err;
# on failure prints both and exits.
run() {
  local out=$1 rc=0
  shift
  setsid "$@" > "$out" 2> "$out.err" &
  child=$!
  wait "$child" || rc=$?
  child=""
  if [ "$rc" -ne 0 ]; then
    echo "jpeg_pipeline: failed ($rc): $*" >&2
    tail -n 20 "$out" "$out.err" >&2
    exit 1
  fi
}
# key FILE KEY: the value of KEY=value in FILE (the last one; a line may hold several).
key() { sed -n "s/^\(.* \)\{0,1\}$2=\([^ ]*\).*/\2/p" "$1" | tail -n 1; }
# phase TEXT: a heading with the seconds since the start.
phase() { echo "== [${SECONDS}s] $*"; }
indent() { sed 's/^/    /' "$@"; }

echo "== jpeg_pipeline $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   rounds=$rounds images=$images torch_images=$torch_images$([ "$quick" = 1 ] && echo ' (quick)')"
machine_check() {
  run "$tmp/check.txt" "$machine_check_bin" --seconds="$check_seconds"
  indent "$tmp/check.txt"
  check_summary="$(key "$tmp/check.txt" all_cores_gflops) GFLOPS on all cores together ($(key "$tmp/check.txt" sum_alone_gflops) each alone, summed), scaling $(key "$tmp/check.txt" scaling)"
}
phase "machine_check (docs/benchmarks.md: a quiet core gives 110-125 GFLOPS)"
machine_check
check_before=$check_summary

# -- The photo set, its PNG twin, the shards.
if [ -z "$photos" ]; then
  photos="$tmp/photos"
  phase "making the photo set: $train_files + $validation_files files (scripts/make_photo_set.py)"
  run "$tmp/make.txt" "$python" scripts/make_photo_set.py --out="$photos" \
    --train_files="$train_files" --validation_files="$validation_files"
fi
[ -d "$photos/train" ] || { echo "jpeg_pipeline: no $photos/train" >&2; exit 1; }
mapfile -t jpeg_files < <(find "$photos/train" "$photos/validation" -type f | sort)
jpeg_bytes=$(cat "${jpeg_files[@]}" | wc -c)
train_count=$(find "$photos/train" -type f | wc -l)
echo "   $photos: ${#jpeg_files[@]} files ($train_count under train/), $((jpeg_bytes / ${#jpeg_files[@]} / 1024)) KB on average"

phase "$png_count of the photos as PNG (zlib level 1), for tessera_records' re-encoding path"
cat > "$tmp/to_png.py" <<'EOF'
import os, sys
from multiprocessing import Pool
from PIL import Image
src, dst, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
jobs = []
for split in ("train", "validation"):
    for folder, _, names in os.walk(os.path.join(src, split)):
        out = os.path.join(dst, os.path.relpath(folder, src))
        os.makedirs(out, exist_ok=True)
        jobs += [(os.path.join(folder, n), os.path.join(out, os.path.splitext(n)[0] + ".png"))
                 for n in names]
jobs.sort()
jobs = [jobs[i * len(jobs) // count] for i in range(min(count, len(jobs)))]  # spread evenly
def convert(job):
    with Image.open(job[0]) as image:
        image.save(job[1], compress_level=1)  # quick to make; inflate costs alike
with Pool(os.cpu_count()) as pool:
    pool.map(convert, jobs, chunksize=16)
EOF
run "$tmp/png.txt" "$python" "$tmp/to_png.py" "$photos" "$tmp/png" "$png_count"
mapfile -t png_files < <(find "$tmp/png" -type f | sort)
png_bytes=$(cat "${png_files[@]}" | wc -c)
echo "   ${#png_files[@]} files, $((png_bytes / ${#png_files[@]} / 1024)) KB on average"

# records SRC OUT: tessera_records with 2 threads; leaves its images/s in $rate.
shards_flags=(--train_shards=16 --validation_shards=2 --num_threads=2)
records() {
  local start end written
  start=$EPOCHREALTIME
  run "$tmp/records.txt" "$records_bin" --train_directory="$1/train" \
    --validation_directory="$1/validation" --output_directory="$2" "${shards_flags[@]}"
  end=$EPOCHREALTIME
  written=$(sed -n 's/.*images written: \([0-9]*\);.*/\1/p' "$tmp/records.txt")
  if [ "$written" != "$3" ]; then
    echo "jpeg_pipeline: tessera_records wrote $written images of $3:" >&2
    cat "$tmp/records.txt" >&2
    exit 1
  fi
  rate=$(awk -v n="$written" -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", n / (b - a) }')
}
# copy_tree SRC OUT N / cat_fsync OUT N FILES...: the copies' images/s in $rate.
copy_tree() {
  local start end
  mkdir "$2"
  start=$EPOCHREALTIME
  cp -r "$1/train" "$1/validation" "$2/"
  end=$EPOCHREALTIME
  rate=$(awk -v n="$3" -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", n / (b - a) }')
}
cat_fsync() {
  local out=$1 n=$2 start end
  shift 2
  mkdir "$out"
  start=$EPOCHREALTIME
  cat "$@" > "$out/all"
  sync "$out/all"
  end=$EPOCHREALTIME
  rate=$(awk -v n="$n" -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", n / (b - a) }')
}

phase "shards for the pipeline (tessera_records ${shards_flags[*]})"
records "$photos" "$tmp/shards" "${#jpeg_files[@]}"
ls "$tmp/shards" | sed -n '1p;$p' | indent
run "$tmp/extract.txt" "$pipeline_bin" --shards="$tmp/shards/train-*" --extract_to="$tmp/records_form"
indent < "$tmp/extract.txt"
# Every input in the page cache alike before the timed conversions.
cat "${jpeg_files[@]}" "${png_files[@]}" "$records_bin" > /dev/null

phase "tessera_records against copying, $rounds rounds (images/s; each output removed after)"
rec_jpeg=() cp_jpeg=() cat_jpeg=() rec_png=() cp_png=() cat_png=()
for ((r = 1; r <= rounds; r++)); do
  records "$photos" "$tmp/out" "${#jpeg_files[@]}"; rec_jpeg+=("$rate"); rm -rf "$tmp/out"
  copy_tree "$photos" "$tmp/out" "${#jpeg_files[@]}"; cp_jpeg+=("$rate"); rm -rf "$tmp/out"
  cat_fsync "$tmp/out" "${#jpeg_files[@]}" "${jpeg_files[@]}"; cat_jpeg+=("$rate"); rm -rf "$tmp/out"
  records "$tmp/png" "$tmp/out" "${#png_files[@]}"; rec_png+=("$rate"); rm -rf "$tmp/out"
  copy_tree "$tmp/png" "$tmp/out" "${#png_files[@]}"; cp_png+=("$rate"); rm -rf "$tmp/out"
  cat_fsync "$tmp/out" "${#png_files[@]}" "${png_files[@]}"; cat_png+=("$rate"); rm -rf "$tmp/out"
  printf '  round %d: JPEG records %.0f cp %.0f cat+fsync %.0f | PNG records %.0f cp %.0f cat+fsync %.0f\n' \
    "$r" "${rec_jpeg[-1]}" "${cp_jpeg[-1]}" "${cat_jpeg[-1]}" "${rec_png[-1]}" "${cp_png[-1]}" "${cat_png[-1]}"
done

# -- torchvision's configurations, searched once.
phase "torchvision: searching, each configuration once (bench/jpeg_references.py --repeats=1 ${search[*]:-(all 40)})"
run "$tmp/search.txt" "$python" bench/jpeg_references.py "$photos" --skip_tjbench --repeats=1 \
  --torch_images="$torch_images" "${search[@]}"
grep -E '^torchvision (cores|best)|^note' "$tmp/search.txt" | indent
torch_config1=$(key "$tmp/search.txt" torchvision_1core_config)
torch_config_all=$(key "$tmp/search.txt" torchvision_all_cores_config)

# -- The rounds: ours, the full decode of the same stream, the references.
pipeline() {  # NAME CMD-PREFIX... -- FLAGS...: one pipeline run; $rate
  run "$tmp/pipeline.txt" "$@" --shards="$tmp/shards/train-*" --images="$images"
  rate=$(key "$tmp/pipeline.txt" images_per_sec)
}
ours1=() ours2=() full1=() full2=() tj1=() tj1_mpx=() tjall=() tjall_mpx=() tv1=() tvall=()
tj1_files=() tj1_records=()
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
phase "$rounds rounds: pipeline (augment, full decode) on 1 core and 2 threads; tjbench; torchvision's two best"
for ((r = 1; r <= rounds; r++)); do
  pipeline taskset -c 0 "$pipeline_bin" --decoder=augment --decode_threads=1; ours1+=("$rate")
  pipeline taskset -c 0 "$pipeline_bin" --decoder=full_decode --decode_threads=1; full1+=("$rate")
  pipeline "$pipeline_bin" --decoder=augment --decode_threads=2; ours2+=("$rate")
  pipeline "$pipeline_bin" --decoder=full_decode --decode_threads=2; full2+=("$rate")
  run "$tmp/refs.txt" "$python" bench/jpeg_references.py "$photos" --repeats=1 \
    --tjbench_files="$tjbench_files" --benchtime=0.3 --warmup=0.05 \
    --torch_images="$torch_images" --torch_config="$torch_config1" \
    --torch_config="$torch_config_all"
  run "$tmp/refs_records.txt" "$python" bench/jpeg_references.py "$tmp/records_form" \
    --repeats=1 --tjbench_files="$tjbench_files" --benchtime=0.3 --warmup=0.05 --skip_torch
  tj1_files+=("$(key "$tmp/refs.txt" tjbench_1core_images_per_sec)")
  tj1_records+=("$(key "$tmp/refs_records.txt" tjbench_1core_images_per_sec)")
  tj1+=("$(max "${tj1_files[-1]}" "${tj1_records[-1]}")")
  tj1_mpx+=("$(max "$(key "$tmp/refs.txt" tjbench_1core_mpixel_per_sec)" \
    "$(key "$tmp/refs_records.txt" tjbench_1core_mpixel_per_sec)")")
  tjall+=("$(max "$(key "$tmp/refs.txt" tjbench_all_cores_images_per_sec)" \
    "$(key "$tmp/refs_records.txt" tjbench_all_cores_images_per_sec)")")
  tjall_mpx+=("$(max "$(key "$tmp/refs.txt" tjbench_all_cores_mpixel_per_sec)" \
    "$(key "$tmp/refs_records.txt" tjbench_all_cores_mpixel_per_sec)")")
  tv1+=("$(key "$tmp/refs.txt" torchvision_1core_images_per_sec)")
  tvall+=("$(key "$tmp/refs.txt" torchvision_all_cores_images_per_sec)")
  printf '  round %d: ours 1 core %.0f, 2 threads %.0f | full decode 1 core %.0f, 2 threads %.0f | tjbench 1 core %.0f, all %.0f | torchvision 1 core %.0f, all %.0f\n' \
    "$r" "${ours1[-1]}" "${ours2[-1]}" "${full1[-1]}" "${full2[-1]}" "${tj1[-1]}" "${tjall[-1]}" "${tv1[-1]}" "${tvall[-1]}"
done

phase "machine_check after"
machine_check
check_after=$check_summary

# median X...: the median of the X, "%.0f".
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f", m }'; }
# ratio NUM_ARRAY DEN_ARRAY: the median of the rounds' ratios and their range.
ratio() {
  local -n num=$1 den=$2
  local i
  for i in "${!num[@]}"; do echo "${num[$i]} ${den[$i]}"; done |
    awk '{ printf "%.6f\n", $1 / $2 }' | sort -g |
    awk '{ r[NR] = $1 } END {
      m = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
      printf "%.2f (%.2f-%.2f)", m, r[1], r[NR] }'
}
rounds_of() { local -n a=$1; printf '%.0f ' "${a[@]}"; }

echo
echo "== summary [${SECONDS}s]: $(date -u '+%Y-%m-%d %H:%M UTC'), ${#jpeg_files[@]} photos ($train_count train) of 500x375 q90 4:2:0, $((jpeg_bytes / ${#jpeg_files[@]} / 1024)) KB on average; medians of $rounds rounds"
echo "machine_check before: $check_before; after: $check_after"
printf '%-58s %6s images/s  (rounds: %s)\n' \
  "Tessera pipeline, 1 decode thread on core 0, batch 32" "$(median "${ours1[@]}")" "$(rounds_of ours1)" \
  "Tessera pipeline, 2 decode threads on 2 cores" "$(median "${ours2[@]}")" "$(rounds_of ours2)" \
  "full decode of the same stream, 1 thread on core 0" "$(median "${full1[@]}")" "$(rounds_of full1)" \
  "full decode of the same stream, 2 threads" "$(median "${full2[@]}")" "$(rounds_of full2)" \
  "tjbench full decode (one file at a time, cached), 1 core" "$(median "${tj1[@]}")" "$(rounds_of tj1)" \
  "  of the files" "$(median "${tj1_files[@]}")" "$(rounds_of tj1_files)" \
  "  of the records' form" "$(median "${tj1_records[@]}")" "$(rounds_of tj1_records)" \
  "tjbench full decode, 2 cores" "$(median "${tjall[@]}")" "$(rounds_of tjall)" \
  "torchvision best 1 core" "$(median "${tv1[@]}")" "$(rounds_of tv1)" \
  "torchvision best 2 cores" "$(median "${tvall[@]}")" "$(rounds_of tvall)"
echo "  tjbench Mpixel/s: 1 core $(median "${tj1_mpx[@]}"), 2 cores $(median "${tjall_mpx[@]}")"
echo "  torchvision best 1 core: $torch_config1"
echo "  torchvision best 2 cores: $torch_config_all"
echo "ratio ours/torchvision per core:         $(ratio ours1 tv1)   target >= 3"
echo "ratio ours/torchvision all cores:        $(ratio ours2 tvall)"
echo "ratio ours/tjbench per core:             $(ratio ours1 tj1)   target >= 1.0"
echo "ratio ours/full decode of same stream:   $(ratio ours1 full1) 1 core, $(ratio ours2 full2) 2 threads"
echo "tessera_records, 2 threads, ${shards_flags[0]} ${shards_flags[1]} (images/s):"
printf '  %-26s records %6s  cp -r %6s  cat+fsync %6s  ratio to cp -r %s, to cat+fsync %s\n' \
  "JPEG as is (${#jpeg_files[@]})" "$(median "${rec_jpeg[@]}")" "$(median "${cp_jpeg[@]}")" \
  "$(median "${cat_jpeg[@]}")" "$(ratio rec_jpeg cp_jpeg)" "$(ratio rec_jpeg cat_jpeg)" \
  "PNG, re-encoded (${#png_files[@]})" "$(median "${rec_png[@]}")" "$(median "${cp_png[@]}")" \
  "$(median "${cat_png[@]}")" "$(ratio rec_png cp_png)" "$(ratio rec_png cat_png)"
