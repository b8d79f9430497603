// Store's internal state: what is published to queries. Private to the store.
#ifndef STACKHOUSE_TSDB_STORE_STATE_H_
#define STACKHOUSE_TSDB_STORE_STATE_H_

#include <memory>
#include <vector>

#include "tsdb/block.h"
#include "tsdb/head.h"
#include "tsdb/store.h"

namespace stackhouse::tsdb {

// Immutable once published; a new State replaces it.
struct Store::State {
  std::shared_ptr<Head> head;                  // the live head
  std::vector<std::shared_ptr<Head>> cutting;  // heads being written to blocks
  std::vector<std::shared_ptr<const Block>> blocks;
};

}  // namespace stackhouse::tsdb

#endif  // STACKHOUSE_TSDB_STORE_STATE_H_
