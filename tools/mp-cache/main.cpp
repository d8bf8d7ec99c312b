#include "tools/tools.hpp"

int main(int argc, char** argv) {
  return mp::tools::cache_main(argc, argv);
}
