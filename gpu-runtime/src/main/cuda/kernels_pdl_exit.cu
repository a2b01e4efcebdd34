// The kernels module for -Droutingreplay.cuda.pdl=exit (PdlLauncher.Mode.EXIT): the same kernels with PDL_TRIGGER
// empty (kernels/pdl.cuh), so a kernel's dependents launch as its blocks exit. compile-ptx.sh builds it beside
// kernels.ptx.
#define PDL_TRIGGER_AT_EXIT
#include "kernels.cu"
