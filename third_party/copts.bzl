"""Compiler options shared by packages (load them; do not repeat them)."""

# For libraries whose elementwise loops must vectorize (the layers, the
# optimizers, the ps's SYNC sums, the bfloat16 conversions): GCC 12's -O2 cost
# model ("very cheap") leaves loops of unknown length scalar, so ask for the
# dynamic one; -ftree-vectorize also vectorizes them in the sanitizer builds
# (-O1). clang (--config=fuzz only) vectorizes at -O2 and has no cost-model flag.
VECTORIZE_COPTS = select({
    "//third_party:clang": [],
    "//conditions:default": ["-ftree-vectorize", "-fvect-cost-model=dynamic"],
})
