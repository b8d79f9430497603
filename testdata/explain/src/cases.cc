// Workloads with a known dominant cause, for the interpreter's evaluation
// set (testdata/explain/make.sh profiles each mode with libstackhouse or
// the agent). Each mode runs for about SECONDS of CPU.
//
//   cases MODE [SECONDS]
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#define NOINLINE __attribute__((noinline))

static double g_seconds = 2;
static volatile uint64_t g_sink;

static bool Running(std::chrono::steady_clock::time_point start) {
  return std::chrono::steady_clock::now() - start < std::chrono::duration<double>(g_seconds);
}

NOINLINE void BuildRecords() {
  auto start = std::chrono::steady_clock::now();
  while (Running(start)) {
    std::vector<std::string*> v;
    for (int i = 0; i < 1000; ++i) v.push_back(new std::string(24 + i % 40, 'x'));
    for (auto* s : v) delete s;
  }
}

std::mutex g_mu;
uint64_t g_counter;
NOINLINE void UpdateCounter() {
  auto start = std::chrono::steady_clock::now();
  while (Running(start)) {
    std::lock_guard<std::mutex> lock(g_mu);
    for (int i = 0; i < 200; ++i) g_counter += i;
  }
}

NOINLINE void PumpBytes() {
  int fds[2];
  if (pipe(fds) != 0) abort();
  char c = 'x';
  auto start = std::chrono::steady_clock::now();
  while (Running(start)) {
    if (write(fds[1], &c, 1) != 1 || read(fds[0], &c, 1) != 1) abort();
  }
}

NOINLINE bool ValidateEmail(const std::string& s) {
  std::regex re("^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$");  // compiled on every call
  return std::regex_match(s, re);
}
NOINLINE void ValidateEmails() {
  auto start = std::chrono::steady_clock::now();
  while (Running(start)) g_sink += ValidateEmail("someone@example.com");
}

NOINLINE void RenderOrders() {
  auto start = std::chrono::steady_clock::now();
  while (Running(start)) {
    nlohmann::json orders = nlohmann::json::array();
    for (int i = 0; i < 200; ++i) {
      orders.push_back({{"id", i}, {"customer", "c" + std::to_string(i)}, {"total", i * 1.5}, {"items", {1, 2, 3}}});
    }
    std::string text = orders.dump();
    g_sink += nlohmann::json::parse(text).size();
  }
}

NOINLINE void MandelbrotRows() {
  auto start = std::chrono::steady_clock::now();
  while (Running(start)) {
    for (int y = 0; y < 64; ++y) {
      for (int x = 0; x < 64; ++x) {
        double cr = x / 32.0 - 1.5, ci = y / 32.0 - 1, zr = 0, zi = 0;
        int k = 0;
        while (k < 500 && zr * zr + zi * zi < 4) {
          double t = zr * zr - zi * zi + cr;
          zi = 2 * zr * zi + ci;
          zr = t;
          ++k;
        }
        g_sink += k;
      }
    }
  }
}

NOINLINE void CopyFrames() {
  std::vector<char> a(8 << 20, 1), b(8 << 20);
  auto start = std::chrono::steady_clock::now();
  while (Running(start)) {
    memcpy(b.data(), a.data(), a.size());
    memmove(a.data(), b.data() + 1, a.size() - 1);
    g_sink += b[12345];
  }
}

NOINLINE int ParseIntOrThrow(const char* s) {
  char* end;
  long v = strtol(s, &end, 10);
  if (*end != 0) throw std::invalid_argument(s);
  return static_cast<int>(v);
}
NOINLINE void ParseAll() {
  const char* inputs[] = {"12", "x3", "7y", "zz"};
  auto start = std::chrono::steady_clock::now();
  int i = 0;
  while (Running(start)) {
    try {
      g_sink += ParseIntOrThrow(inputs[i++ % 4]);
    } catch (const std::exception&) {
      g_sink += 1;
    }
  }
}

NOINLINE void FormatLogLines() {
  char buf[256];
  auto start = std::chrono::steady_clock::now();
  int i = 0;
  while (Running(start)) {
    snprintf(buf, sizeof(buf), "%s request=%d latency=%.3fms user=%s status=%d", "INFO", i, i * 0.37, "alice", 200 + i % 3);
    g_sink += strlen(buf);
    ++i;
  }
}

NOINLINE void ChecksumBlocks() {
  std::vector<unsigned char> block(1 << 16);
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<unsigned char>(i * 31 + i / 7);
  std::vector<unsigned char> out(compressBound(block.size()));
  auto start = std::chrono::steady_clock::now();
  while (Running(start)) {
    g_sink += crc32(0, block.data(), block.size());
    uLongf n = out.size();
    compress2(out.data(), &n, block.data(), block.size(), 6);
    g_sink += n;
  }
}

NOINLINE void TouchFreshPages() {
  const size_t size = 64 << 20;
  auto start = std::chrono::steady_clock::now();
  while (Running(start)) {
    char* p = static_cast<char*>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    for (size_t i = 0; i < size; i += 4096) p[i] = 1;
    munmap(p, size);
  }
}

std::atomic<bool> g_flag{false};
NOINLINE void WaitForFlag() {
  while (!g_flag.load()) sched_yield();
}

NOINLINE void LoadPlugins() {
  auto start = std::chrono::steady_clock::now();
  while (Running(start)) {
    void* h = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (h != nullptr) {
      g_sink += reinterpret_cast<uintptr_t>(dlsym(h, "inflateInit2_"));
      dlclose(h);
    }
    void* h2 = dlopen("libxml2.so.2", RTLD_NOW | RTLD_LOCAL);
    if (h2 != nullptr) dlclose(h2);
  }
}

// The regression pair: ScoreItems does `factor` times the work.
NOINLINE void ScoreItems(int factor) {
  for (int i = 0; i < 20000 * factor; ++i) g_sink += static_cast<uint64_t>(i) * i % 7;
}
NOINLINE void RankItems() {
  for (int i = 0; i < 60000; ++i) g_sink += static_cast<uint64_t>(i) ^ (i >> 3);
}
NOINLINE void ServeRequests(int factor) {
  auto start = std::chrono::steady_clock::now();
  while (Running(start)) {
    ScoreItems(factor);
    RankItems();
  }
}

NOINLINE int SolveQueens(int row, int n, int cols, int d1, int d2) {
  if (row == n) return 1;
  int count = 0;
  for (int c = 0; c < n; ++c) {
    if ((cols >> c & 1) || (d1 >> (row + c) & 1) || (d2 >> (row - c + n) & 1)) continue;
    count += SolveQueens(row + 1, n, cols | 1 << c, d1 | 1 << (row + c), d2 | 1 << (row - c + n));
  }
  return count;
}
NOINLINE void Queens() {
  auto start = std::chrono::steady_clock::now();
  while (Running(start)) g_sink += SolveQueens(0, 9, 0, 0, 0);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: cases MODE [SECONDS]\n");
    return 2;
  }
  std::string mode = argv[1];
  if (argc > 2) g_seconds = atof(argv[2]);
  if (mode == "alloc") BuildRecords();
  else if (mode == "lock") {
    std::vector<std::thread> t;
    for (int i = 0; i < 4; ++i) t.emplace_back(UpdateCounter);
    for (auto& x : t) x.join();
  } else if (mode == "syscall") PumpBytes();
  else if (mode == "regex") ValidateEmails();
  else if (mode == "json") RenderOrders();
  else if (mode == "compute") MandelbrotRows();
  else if (mode == "memcpy") CopyFrames();
  else if (mode == "exceptions") ParseAll();
  else if (mode == "formatting") FormatLogLines();
  else if (mode == "hashing") ChecksumBlocks();
  else if (mode == "pagefaults") TouchFreshPages();
  else if (mode == "spinning") {
    std::thread t(WaitForFlag);
    std::this_thread::sleep_for(std::chrono::duration<double>(g_seconds));
    g_flag = true;
    t.join();
  } else if (mode == "dynlink") LoadPlugins();
  else if (mode == "queens") Queens();
  else if (mode == "regress-base") ServeRequests(1);
  else if (mode == "regress-new") ServeRequests(4);
  else {
    fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  printf("%llu\n", static_cast<unsigned long long>(g_sink));
  return 0;
}
