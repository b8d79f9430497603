// stackhouse top: the heaviest functions of a profile, like go tool pprof -top.
#include <cstdio>

#include "base/strings.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/flags.h"
#include "profile/top.h"

namespace stackhouse::cli {

int TopMain(int argc, char** argv, int first) {
  Flags flags;
  flags.Value("sample-type", "", "Sample type to rank by (default: the profile's default type)");
  flags.Value("nodes", "10", "Number of rows", {"-n"});
  flags.Value("from", "", "Input format (detected when absent)");
  flags.Switch("cum", "Sort by cumulative value instead of flat");
  Status s = flags.Parse(argc, argv, first);
  if (flags.help()) {
    std::printf("usage: stackhouse top IN [--sample-type T] [-n N] [--cum]\n\n"
                "Prints the functions with the largest flat (or cumulative) value.\n"
                "IN may be '-' for stdin, in any readable format.\n\nOptions:\n%s",
                flags.Usage().c_str());
    return 0;
  }
  if (!s.ok()) return Fail("top", s.message() + " (see --help)", 2);
  if (flags.positional().size() != 1) return Fail("top", "expected exactly one input file", 2);
  auto n = ParseInt64(flags.Get("nodes"));
  if (!n || *n <= 0) return Fail("top", "-n must be a positive number", 2);
  const std::string& in = flags.positional()[0];
  auto p = LoadProfile(in, flags.Get("from"));
  if (!p.ok()) return Fail("top", p.status().message());
  auto t = SampleTypeIndex(*p, flags.Get("sample-type"));
  if (!t.ok()) return Fail("top", StrCat(in, ": ", t.status().message()));
  profile::TopTable table = profile::ComputeTop(*p, *t, flags.On("cum"));
  std::string_view type = p->str(p->sample_types[*t].type);
  std::string_view unit = p->str(p->sample_types[*t].unit);
  std::printf("File: %s\nType: %.*s (%.*s)\n%s", in == "-" ? "<stdin>" : in.c_str(),
              static_cast<int>(type.size()), type.data(), static_cast<int>(unit.size()),
              unit.data(), profile::FormatTop(table, unit, static_cast<size_t>(*n)).c_str());
  return 0;
}

}  // namespace stackhouse::cli
