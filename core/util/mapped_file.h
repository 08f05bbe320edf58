// A read-only memory mapping of a whole file, unmapped on destruction.
#pragma once

#include <string>

#include "core/util/bytes.h"

namespace ifx {

class MappedFile {
 public:
  // Fails with an Error naming the path and the system's reason.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  Bytes bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ifx
