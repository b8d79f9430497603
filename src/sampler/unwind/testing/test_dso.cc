// A small shared object that unwind_tables_test loads and unloads with
// dlopen/dlclose to check that UnwindTables::Refresh follows the object list.
extern "C" __attribute__((visibility("default"), noinline)) int StackhouseUnwindTestDsoFunction(
    int x) {
  volatile int v[4] = {x, x + 1, x + 2, x + 3};
  return v[0] * v[3] + v[1];
}
