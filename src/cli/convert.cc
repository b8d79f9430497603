// stackhouse convert: reads a profile in any supported format and writes it
// in another.
#include <algorithm>
#include <cstdio>
#include <thread>

#include "base/file.h"
#include "base/strings.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/flags.h"
#include "otlp/otlp.h"

namespace stackhouse::cli {

int ConvertMain(int argc, char** argv, int first) {
  Flags flags;
  flags.Value("output", "-", "Output file ('-' = stdout)", {"-o"});
  flags.Value("from", "", "Input format: pprof, folded, lines, perf-script, gperftools, "
                          "speedscope, otlp (detected when absent; OTLP from .otlp/.otlp.json names)");
  flags.Value("to", "", "Output format: pprof, folded, speedscope, flamebearer, svg, otlp (protobuf), "
                        "otlp-json (from the output file's extension, else pprof)");
  flags.Value("service", "", "otlp output: the resource's service.name");
  flags.Value("sample-type", "", "Sample type for folded, flamebearer and svg output "
                                 "(default: the profile's default type)");
  flags.Value("title", "Flame Graph", "Title of an svg flame graph");
  flags.Value("gzip-level", "2", "pprof output: gzip level 1-9, 0 for uncompressed");
  flags.Switch("comm-root", "perf script input: make the process name the root frame");
  Status s = flags.Parse(argc, argv, first);
  if (flags.help()) {
    std::printf("usage: stackhouse convert IN [-o OUT] [--from FMT] [--to FMT] [options]\n\n"
                "Converts a profile between formats. IN may be '-' for stdin; the input\n"
                "may be gzip-compressed.\n\nOptions:\n%s",
                flags.Usage().c_str());
    return 0;
  }
  if (!s.ok()) return Fail("convert", s.message() + " (see --help)", 2);
  if (flags.positional().size() != 1) {
    return Fail("convert", "expected exactly one input file (see --help)", 2);
  }
  const std::string& in = flags.positional()[0];
  const std::string& out = flags.Get("output");

  profile::Format to = profile::Format::kPprof;
  const bool to_otlp = IsOtlpName(flags.Get("to"), flags.IsSet("to") ? "" : out);
  if (to_otlp) {
    // Handled below.
  } else if (flags.IsSet("to")) {
    auto f = profile::ParseFormatName(flags.Get("to"));
    if (!f || !profile::CanWrite(*f)) {
      return Fail("convert", StrCat("cannot write format ", Quote(flags.Get("to"))), 2);
    }
    to = *f;
  } else if (auto f = profile::FormatFromFileName(out); f && profile::CanWrite(*f)) {
    to = *f;
  }
  auto level = ParseInt64(flags.Get("gzip-level"));
  if (!level || *level < 0 || *level > 9) {
    return Fail("convert", "--gzip-level must be 0..9", 2);
  }

  profile::ReadOptions ropts;
  ropts.perf_comm_as_root = flags.On("comm-root");
  auto p = LoadProfile(in, flags.Get("from"), ropts);
  if (!p.ok()) return Fail("convert", p.status().message());

  profile::WriteOptions wopts;
  wopts.gzip_level = static_cast<int>(*level);
  wopts.gzip_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  wopts.title = flags.Get("title");
  if (flags.IsSet("sample-type")) {
    auto t = SampleTypeIndex(*p, flags.Get("sample-type"));
    if (!t.ok()) return Fail("convert", StrCat(in, ": ", t.status().message()));
    wopts.type_index = *t;
  }
  if (to_otlp) {
    otlp::ExportRequest req;
    std::vector<std::pair<std::string, std::string>> resource;
    if (!flags.Get("service").empty()) resource.push_back({"service.name", flags.Get("service")});
    otlp::AppendProfile(*p, resource, &req);
    bool json = flags.Get("to") == "otlp-json" || (!flags.IsSet("to") && out.find(".json") != std::string::npos);
    std::string bytes;
    if (json) {
      auto j = otlp::ToJson(req);
      if (!j.ok()) return Fail("convert", StrCat(in, ": ", j.status().message()));
      bytes = std::move(*j);
    } else {
      bytes = req.SerializeAsString();
    }
    Status w = WriteFile(out, bytes);
    if (!w.ok()) return Fail("convert", w.message());
    return 0;
  }
  // Written as it is produced (big gzipped pprof comes in pieces), then
  // renamed into place.
  auto file = FileWriter::Open(out);
  if (!file.ok()) return Fail("convert", file.status().message());
  Status write_error;
  Status written = profile::WriteProfileTo(*p, to, wopts, [&](std::string_view piece) {
    Status a = file->Append(piece);
    if (!a.ok()) write_error = a;
    return a;
  });
  if (!write_error.ok()) return Fail("convert", write_error.message());
  if (!written.ok()) return Fail("convert", StrCat(in, ": ", written.message()));
  Status c = file->Commit();
  if (!c.ok()) return Fail("convert", c.message());
  return 0;
}

}  // namespace stackhouse::cli
