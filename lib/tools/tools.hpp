#pragma once
// Entry points of the four binaries; each tools/<name>/main.cpp only calls one.

namespace mp::tools {

int serve_main(int argc, char** argv);
int bench_main(int argc, char** argv);
int monitor_main(int argc, char** argv);
int cache_main(int argc, char** argv);

} // namespace mp::tools
