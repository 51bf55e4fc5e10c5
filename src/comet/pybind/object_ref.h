// PyObjectRef: the C++ object behind comet.ObjectRef. Holds one local
// reference in its process's core worker from construction to destruction.
// Created and destroyed with the GIL held.
#pragma once

#include <memory>

#include "src/comet/core_worker/core_worker.h"

namespace comet::pybind {

class PyObjectRef {
 public:
  PyObjectRef(std::shared_ptr<core::CoreWorker> worker, const ObjectID& id)
      : worker_(std::move(worker)), id_(id) {
    if (worker_) worker_->AddLocalReference(id_);
  }
  ~PyObjectRef() {
    if (worker_) worker_->RemoveLocalReference(id_);
  }
  PyObjectRef(const PyObjectRef&) = delete;
  PyObjectRef& operator=(const PyObjectRef&) = delete;

  const ObjectID& id() const { return id_; }
  const std::shared_ptr<core::CoreWorker>& worker() const { return worker_; }

 private:
  std::shared_ptr<core::CoreWorker> worker_;
  ObjectID id_;
};

}  // namespace comet::pybind
