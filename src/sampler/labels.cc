#include "sampler/labels.h"

#include <pthread.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "sampler/thread_local.h"

namespace stackhouse::sampler {
namespace {

struct Entry {
  LabelPairs pairs;
  int refs = 0;
  uint64_t released_epoch = 0;
  bool live = false;
};

struct Table {
  std::mutex mu;
  std::map<LabelPairs, uint32_t> ids;
  std::vector<Entry> entries{1};  // id 0 = the empty set, never freed
  std::vector<uint32_t> free_ids;
  std::vector<uint32_t> released;  // refs reached 0, waiting for two epochs
  uint64_t epoch = 0;
  size_t live = 0;
};

Table& GetTable() {
  static Table* t = new Table();  // never destroyed: threads may exit after main
  return *t;
}

// REQUIRES: t.mu held.
void Unref(Table& t, uint32_t id) {
  if (id == 0 || id >= t.entries.size()) return;
  Entry& e = t.entries[id];
  if (--e.refs == 0) {
    e.released_epoch = t.epoch;
    t.released.push_back(id);
  }
}

// REQUIRES: t.mu held. Returns 0 with *full when there is no room.
uint32_t Intern(Table& t, LabelPairs pairs, bool* full) {
  *full = false;
  if (pairs.empty()) return 0;
  auto it = t.ids.find(pairs);
  if (it != t.ids.end()) {
    t.entries[it->second].refs++;
    return it->second;
  }
  if (t.live >= kMaxLabelSets) {
    *full = true;
    return 0;
  }
  uint32_t id;
  if (!t.free_ids.empty()) {
    id = t.free_ids.back();
    t.free_ids.pop_back();
  } else {
    id = static_cast<uint32_t>(t.entries.size());
    t.entries.emplace_back();
  }
  Entry& e = t.entries[id];
  e.pairs = pairs;
  e.refs = 1;
  e.live = true;
  t.live++;
  t.ids.emplace(std::move(pairs), id);
  return id;
}

bool Replace(const std::function<void(LabelPairs*)>& edit) {
  ThreadLocal& tl = GetThreadLocal();
  InternalScope internal;  // our own allocations are not heap samples
  Table& t = GetTable();
  std::lock_guard<std::mutex> lock(t.mu);
  uint32_t old = tl.label_set;
  LabelPairs pairs = old < t.entries.size() ? t.entries[old].pairs : LabelPairs{};
  edit(&pairs);
  bool full = false;
  uint32_t id = Intern(t, std::move(pairs), &full);
  if (full) return false;
  tl.label_set = id;
  Unref(t, old);
  return true;
}

}  // namespace

uint32_t CurrentLabelSet() { return GetThreadLocal().label_set; }

bool SetThreadLabel(std::string_view key, std::string_view value) {
  return Replace([&](LabelPairs* p) {
    auto it = std::lower_bound(p->begin(), p->end(), key,
                               [](const auto& a, std::string_view k) { return a.first < k; });
    if (it != p->end() && it->first == key) {
      it->second = std::string(value);
    } else {
      p->insert(it, {std::string(key), std::string(value)});
    }
  });
}

bool ClearThreadLabel(std::string_view key) {
  return Replace([&](LabelPairs* p) {
    std::erase_if(*p, [&](const auto& kv) { return kv.first == key; });
  });
}

void ClearThreadLabels() {
  Replace([](LabelPairs* p) { p->clear(); });
}

void RetainLabelSet(uint32_t id) {
  if (id == 0) return;
  Table& t = GetTable();
  std::lock_guard<std::mutex> lock(t.mu);
  if (id < t.entries.size()) t.entries[id].refs++;
}

void ReleaseLabelSet(uint32_t id) {
  if (id == 0) return;
  InternalScope internal;
  Table& t = GetTable();
  std::lock_guard<std::mutex> lock(t.mu);
  Unref(t, id);
}

void RestoreThreadLabelSet(uint32_t id) {
  ThreadLocal& tl = GetThreadLocal();
  InternalScope internal;
  Table& t = GetTable();
  std::lock_guard<std::mutex> lock(t.mu);
  if (id != 0 && id < t.entries.size()) t.entries[id].refs++;
  uint32_t old = tl.label_set;
  tl.label_set = id;
  Unref(t, old);
}

bool ResolveLabelSet(uint32_t id, LabelPairs* out) {
  out->clear();
  if (id == 0) return true;
  Table& t = GetTable();
  std::lock_guard<std::mutex> lock(t.mu);
  if (id >= t.entries.size() || !t.entries[id].live) return false;
  *out = t.entries[id].pairs;
  return true;
}

void CollectLabelSets() {
  Table& t = GetTable();
  std::lock_guard<std::mutex> lock(t.mu);
  t.epoch++;
  std::vector<uint32_t> keep;
  for (uint32_t id : t.released) {
    Entry& e = t.entries[id];
    if (!e.live || e.refs > 0) continue;  // freed already, or taken again
    if (e.released_epoch + 2 > t.epoch) {
      keep.push_back(id);
      continue;
    }
    t.ids.erase(e.pairs);
    e.pairs.clear();
    e.live = false;
    t.live--;
    t.free_ids.push_back(id);
  }
  t.released.swap(keep);
}

size_t LiveLabelSets() {
  Table& t = GetTable();
  std::lock_guard<std::mutex> lock(t.mu);
  return t.live;
}

}  // namespace stackhouse::sampler
