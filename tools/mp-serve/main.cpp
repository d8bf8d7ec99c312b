#include "tools/tools.hpp"

int main(int argc, char** argv) {
  return mp::tools::serve_main(argc, argv);
}
