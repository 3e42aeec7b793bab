#!/usr/bin/env bash
# npm run fuzz [-- SECONDS]: builds the libFuzzer target of the core with clang (ASan+UBSan)
# and fuzzes it for a fixed time (default 60 s), starting from the seed corpus in this folder.
# A failing input is written to build-fuzz/ and reproduced with: build-fuzz/flight_table_fuzz FILE
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-${FUZZ_SECONDS:-60}}"
mkdir -p build-fuzz/corpus
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core \
  test/fuzz/flight_table_fuzz.cc src/core/*.cc -o build-fuzz/flight_table_fuzz
cp test/fuzz/corpus/* build-fuzz/corpus/
./build-fuzz/flight_table_fuzz -max_total_time="$seconds" -max_len=1200 -print_final_stats=1 \
  -artifact_prefix=build-fuzz/ build-fuzz/corpus
