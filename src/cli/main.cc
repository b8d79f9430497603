// stackhouse: one binary with subcommands.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"

#ifndef STACKHOUSE_VERSION
#define STACKHOUSE_VERSION "dev"
#endif

namespace {

constexpr char kHelp[] =
    "Stackhouse " STACKHOUSE_VERSION " - continuous profiling.\n"
    "\n"
    "usage: stackhouse COMMAND [ARGS...]\n"
    "\n"
    "Commands:\n"
    "  convert IN [-o OUT] [--from FMT] [--to FMT]\n"
    "                 Convert a profile between formats: pprof, folded, speedscope,\n"
    "                 flamebearer, svg, otlp (read also: gperftools, perf-script, lines, jfr).\n"
    "                 The input format is detected when --from is absent.\n"
    "  top IN [--sample-type T] [-n N] [--cum]\n"
    "                 Flat and cumulative table of the heaviest functions.\n"
    "  store import|query|stats|verify|compact DIR ...\n"
    "                 Work on a data directory of the embedded profile store.\n"
    "  server [--config FILE] [--http-addr :4040] [--data-dir ./data] ...\n"
    "                 Run the server: Pyroscope-compatible ingest and query APIs.\n"
    "  push FILE... [--server URL] [--service NAME] [--labels k=v,...]\n"
    "                 Send profiles to a server.\n"
    "  query 'TYPE{selector}' [--from T] [--until T] [--format top|folded|pprof|flamebearer]\n"
    "                 Query a server (with --diff-from/--diff-until: a diff).\n"
    "  agent --server URL [--sample-rate 19] [--upload-interval 10s] [--comm RE] [--pid N]\n"
    "                 Profile every process of this host (as root) and send the profiles.\n"
    "  explain IN [--baseline FILE] [--format text|json]   (or 'TYPE{selector}' --from T ...)\n"
    "                 Explain a profile or a regression: hotspots, components, costly\n"
    "                 patterns, where a change is concentrated, with numbers. Offline.\n"
    "  help [COMMAND] Show help (also: stackhouse COMMAND --help).\n"
    "  version        Print the version (also: --version).\n"
    "\n"
    "IN may be '-' for stdin. Exit codes: 0 ok, 1 bad input or failure, 2 bad usage.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kHelp, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "--version" || cmd == "version" || cmd == "-v") {
    std::printf("stackhouse %s\n", STACKHOUSE_VERSION);
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    if (argc >= 3) {
      // "stackhouse help convert" == "stackhouse convert --help".
      char flag[] = "--help";
      char* sub[] = {argv[0], argv[2], flag};
      std::string name = argv[2];
      if (name == "convert") return stackhouse::cli::ConvertMain(3, sub, 2);
      if (name == "top") return stackhouse::cli::TopMain(3, sub, 2);
      if (name == "store") return stackhouse::cli::StoreMain(3, sub, 2);
      if (name == "server") return stackhouse::cli::ServerMain(3, sub, 2);
      if (name == "push") return stackhouse::cli::PushMain(3, sub, 2);
      if (name == "query") return stackhouse::cli::QueryMain(3, sub, 2);
      if (name == "agent") return stackhouse::cli::AgentMain(3, sub, 2);
      if (name == "explain") return stackhouse::cli::ExplainMain(3, sub, 2);
      std::fprintf(stderr, "stackhouse: unknown command '%s'\n\n%s", argv[2], kHelp);
      return 2;
    }
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (cmd == "convert") return stackhouse::cli::ConvertMain(argc, argv, 2);
  if (cmd == "top") return stackhouse::cli::TopMain(argc, argv, 2);
  if (cmd == "store") return stackhouse::cli::StoreMain(argc, argv, 2);
  if (cmd == "server") return stackhouse::cli::ServerMain(argc, argv, 2);
  if (cmd == "push") return stackhouse::cli::PushMain(argc, argv, 2);
  if (cmd == "query") return stackhouse::cli::QueryMain(argc, argv, 2);
  if (cmd == "explain") return stackhouse::cli::ExplainMain(argc, argv, 2);
  if (cmd == "agent") return stackhouse::cli::AgentMain(argc, argv, 2);
  std::fprintf(stderr, "stackhouse: unknown command '%s'\n\n%s", cmd.c_str(), kHelp);
  return 2;
}
