#include "tools/tools.hpp"

int main(int argc, char** argv) {
  return mp::tools::monitor_main(argc, argv);
}
