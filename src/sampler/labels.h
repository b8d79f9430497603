// Thread labels: each thread carries the id of an interned, immutable label
// set in a thread-local word that the signal handler copies into samples.
// Setting a label interns the thread's new set (a mutex and a map lookup,
// never on the signal path). Sets are reference-counted by the threads that
// hold them and freed two drain epochs after the last thread let go, so the
// aggregator can still resolve ids of samples taken just before.
#ifndef STACKHOUSE_SAMPLER_LABELS_H_
#define STACKHOUSE_SAMPLER_LABELS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stackhouse::sampler {

using LabelPairs = std::vector<std::pair<std::string, std::string>>;  // sorted by key

// The calling thread's current set id (0 = no labels). Signal-safe.
uint32_t CurrentLabelSet();

// Changes the calling thread's labels. Returns false when the table is full
// (more than kMaxLabelSets live sets); the thread keeps its old labels.
bool SetThreadLabel(std::string_view key, std::string_view value);
bool ClearThreadLabel(std::string_view key);
void ClearThreadLabels();
// Makes `id` (from CurrentLabelSet, still held by the caller's scope) the
// thread's set again; used by ScopedLabel. Takes a reference on `id` first.
void RestoreThreadLabelSet(uint32_t id);
// Takes/drops an extra reference on a set (ScopedLabel keeps the previous
// set alive while the scope runs).
void RetainLabelSet(uint32_t id);
void ReleaseLabelSet(uint32_t id);

// Aggregator side: copies the pairs of `id` into *out; false if unknown.
bool ResolveLabelSet(uint32_t id, LabelPairs* out);
// Called by the aggregator after each drain: frees sets released more than
// one epoch ago.
void CollectLabelSets();
size_t LiveLabelSets();

inline constexpr size_t kMaxLabelSets = 1 << 16;

}  // namespace stackhouse::sampler

#endif  // STACKHOUSE_SAMPLER_LABELS_H_
