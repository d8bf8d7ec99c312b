#include "tools/tools.hpp"

int main(int argc, char** argv) {
  return mp::tools::bench_main(argc, argv);
}
