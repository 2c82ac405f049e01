#!/bin/sh
# The GPU check (benchmarks/gpu_check.py); exits 0 with a note where there is no CUDA device.
exec python "$(dirname "$0")/gpu_check.py" "$@"
