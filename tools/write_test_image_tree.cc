// Test helper for shell tests: write_test_image_tree DIR writes the tiny
// ImageNet-style tree of tools/test_image_tree.h under DIR. Exit code 1 with a
// message when a file cannot be written, 2 for a usage error.

#include <iostream>

#include "tools/test_image_tree.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: write_test_image_tree DIR\n";
    return 2;
  }
  const absl::Status status = tessera::WriteTestImageTree(argv[1]);
  if (!status.ok()) {
    std::cerr << "write_test_image_tree: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
