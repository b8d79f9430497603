// The test call chain without frame pointers (see walk_chain.h).
#define WALK_CHAIN_NS nofp
#include "sampler/unwind/testing/walk_chain.inc"

namespace stackhouse::sampler::unwind::walk_chain {
int g_chain_signal = 0;
}  // namespace stackhouse::sampler::unwind::walk_chain
