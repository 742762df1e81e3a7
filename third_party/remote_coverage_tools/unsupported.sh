#!/bin/sh
echo "bazel coverage is not supported in Tessera's offline build" >&2
exit 1
