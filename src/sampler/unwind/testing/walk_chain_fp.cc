// The test call chain with frame pointers (see walk_chain.h).
#define WALK_CHAIN_NS fp
#include "sampler/unwind/testing/walk_chain.inc"
