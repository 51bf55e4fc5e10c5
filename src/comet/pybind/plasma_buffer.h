// PlasmaBuffer: one plasma store reference held by Python, with the object's
// bytes exposed through the buffer protocol (zero copy). The reference is
// released when the buffer object is collected. Created and destroyed with
// the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "src/comet/object_manager/plasma/client.h"

namespace comet::pybind {

class PlasmaBuffer {
 public:
  PlasmaBuffer(std::shared_ptr<plasma::PlasmaClient> client, ObjectID id, uint8_t* data,
               uint64_t size, std::string metadata, bool writable)
      : client_(std::move(client)), id_(id), data_(data), size_(size),
        metadata_(std::move(metadata)), writable_(writable) {}
  ~PlasmaBuffer();

  pybind11::buffer_info Info() const;
  pybind11::bytes object_id() const { return pybind11::bytes(id_.Binary()); }
  pybind11::bytes metadata() const { return pybind11::bytes(metadata_); }
  uint64_t size() const { return size_; }

 private:
  std::shared_ptr<plasma::PlasmaClient> client_;
  ObjectID id_;
  uint8_t* data_;
  uint64_t size_;
  std::string metadata_;
  bool writable_;
};

// A memoryview over a new PlasmaBuffer (which it keeps alive).
pybind11::memoryview PlasmaView(std::shared_ptr<plasma::PlasmaClient> client, const ObjectID& id,
                                uint8_t* data, uint64_t size, std::string metadata,
                                bool writable);

}  // namespace comet::pybind
