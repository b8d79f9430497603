// The stackhouse subcommands. Each takes the full argv and the index of its
// first argument, prints to stdout/stderr, and returns the exit code:
// 0 success, 1 bad input or failure, 2 bad usage.
#ifndef STACKHOUSE_CLI_COMMANDS_H_
#define STACKHOUSE_CLI_COMMANDS_H_

namespace stackhouse::cli {

int ConvertMain(int argc, char** argv, int first);
int TopMain(int argc, char** argv, int first);
int StoreMain(int argc, char** argv, int first);
int ServerMain(int argc, char** argv, int first);
int PushMain(int argc, char** argv, int first);
int QueryMain(int argc, char** argv, int first);
int AgentMain(int argc, char** argv, int first);
int ExplainMain(int argc, char** argv, int first);

}  // namespace stackhouse::cli

#endif  // STACKHOUSE_CLI_COMMANDS_H_
